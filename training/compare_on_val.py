"""Garment model files side by side on the VAL split: how a model or an export is chosen.

Runs each .tflite given (lookmatch.garments.GarmentModel, the runtime code) on the val crops
cached by training/cache_crops.py (the pipeline's own crops of val photos), and prints per
dataset:
- accuracy / macro recall per head, and for each model after the first the crops whose predicted
  label differs from the first model's (flips: pass the float model first to see what int8
  changes);
- how far each model's embedding of a crop turns from the first model's (cosine: mean and 5th
  percentile over the crops);
- two rankings by look against labels (recall@1, per region): each crop's mirror image as the
  query among the region's crops, is the crop itself first? And on PETA, where several photos
  show one person: is the most similar other crop one of the same person's?
Test crops are not read.
Run: .venv/bin/python training/compare_on_val.py MODEL.tflite [MODEL.tflite ...]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from lookmatch import datasets
from lookmatch.evaluation import same_person_first, score_head
from lookmatch.garments import GarmentModel

from evaluate_model import labelled_crops, load_split, predict


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit(__doc__)
    models = {Path(p).name: GarmentModel(str(Path(p).resolve())) for p in paths}
    print("dataset  head      n  " + "  ".join(f"{name:>24}" for name in models))
    for ds in ("ccp", "peta", "clothing"):
        d = load_split(ds, "val")
        preds = {name: predict(model, d["x"], d["inner"])[0] for name, model in models.items()}
        labelled = {name: {head: (y, p, classes) for head, classes, _, y, p in labelled_crops(d, pr)}
                    for name, pr in preds.items()}
        first = next(iter(labelled.values()))  # every model is scored on the same crops
        for head, (_, first_p, _) in first.items():
            cells = []
            for heads in labelled.values():
                y, p, classes = heads[head]
                score = score_head(y, p, classes)
                flips = "" if heads is first else f" ({sum(a != b for a, b in zip(p, first_p))} flips)"
                cells.append(f"{score.accuracy:11.1%} / {score.macro_recall:6.1%}{flips}")
            print(f"{ds:8s} {head:6s} {len(first_p):4d}  " + "  ".join(f"{c:>24}" for c in cells), flush=True)
        first_emb = next(iter(preds.values()))["embedding"]
        cosines = [(pr["embedding"] * first_emb).sum(1) for pr in preds.values()]
        print(f"{ds:8s} {'emb':6s} {len(first_emb):4d}  " + "  ".join(
            f"{'cos ' + format(c.mean(), '.3f') + ' / p5 ' + format(np.percentile(c, 5), '.3f'):>24}"
            for c in cosines), flush=True)
        mirrored = [mirrored_embeddings(model, d) for model in models.values()]
        for region in ("upper", "lower", "whole"):
            rows = np.flatnonzero(d["region"] == region)
            if len(rows) > 1:
                print(f"{ds:8s} {'mir ' + region[:2]:6s} {len(rows):4d}  " + "  ".join(
                    f"{'mirror finds itself ' + format(mirror_recall(pr['embedding'][rows], m[rows]), '.1%'):>24}"
                    for pr, m in zip(preds.values(), mirrored)), flush=True)
        if ds == "peta":
            person = {t.key: t.group for t in datasets.load("peta", "val")}
            people = np.array([person[k] for k in d["key"]])
            for region in ("upper", "lower", "whole"):
                recalls = [same_person_recall(pr["embedding"], people, d["region"] == region)
                           for pr in preds.values()]
                n = recalls[0][1]
                print(f"{ds:8s} {'r@1 ' + region[:2]:6s} {n:4d}  " + "  ".join(
                    f"{'same person first ' + format(r, '.1%'):>24}" for r, _ in recalls), flush=True)


def mirrored_embeddings(model: GarmentModel, d: dict[str, np.ndarray]) -> np.ndarray:
    """The embedding of every crop's mirror image: views flipped left-right, their inner boxes
    (x0, y0, x1, y1 as fractions) mirrored to (1 - x1, y0, 1 - x0, y1)."""
    x0, y0, x1, y1 = d["inner"].T
    return predict(model, d["x"][:, :, ::-1], np.stack([1 - x1, y0, 1 - x0, y1], axis=1))[0]["embedding"]


def mirror_recall(embedding: np.ndarray, mirrored: np.ndarray) -> float:
    """Recall@1 of ranking by look with the same garment in a second picture: the share of crops
    whose mirror image (row i of `mirrored`) is most similar to the crop itself among all rows."""
    return float(np.mean((mirrored @ embedding.T).argmax(1) == np.arange(len(embedding))))


def same_person_recall(embedding: np.ndarray, people: np.ndarray, rows: np.ndarray) -> tuple[float, int]:
    """Recall@1 of ranking by look on `rows`: the share of crops (of a person with another crop
    among rows) whose most similar other crop shows the same person; and how many such crops."""
    at = np.flatnonzero(rows)
    hits = same_person_first(embedding[at] @ embedding[at].T, people[at])
    return float(hits.mean()), len(hits)


if __name__ == "__main__":
    main(sys.argv[1:])
