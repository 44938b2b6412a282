"""Garment model files side by side on the VAL split: how a model or an export is chosen.

Runs each .tflite given (lookmatch.garments.GarmentModel, the runtime code) on the val crops
cached by training/cache_crops.py (the pipeline's own crops of val photos), and prints accuracy /
macro recall per dataset and head, and for each model after the first, the crops whose predicted
label differs from the first model's (flips: pass the float model first to see what int8 changes).
Test crops are not read.
Run: .venv/bin/python training/compare_on_val.py MODEL.tflite [MODEL.tflite ...]
"""
from __future__ import annotations

import sys
from pathlib import Path

from lookmatch.evaluation import score_head
from lookmatch.garments import GarmentModel

from evaluate_model import labelled_crops, load_split, predict


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit(__doc__)
    models = {Path(p).name: GarmentModel(str(Path(p).resolve())) for p in paths}
    print("dataset  head      n  " + "  ".join(f"{name:>24}" for name in models))
    for ds in ("ccp", "peta", "clothing"):
        d = load_split(ds, "val")
        labelled = {name: {head: (y, p, classes)
                           for head, classes, _, y, p in labelled_crops(d, predict(model, d["x"], d["inner"])[0])}
                    for name, model in models.items()}
        first = next(iter(labelled.values()))  # every model is scored on the same crops
        for head, (_, first_p, _) in first.items():
            cells = []
            for heads in labelled.values():
                y, p, classes = heads[head]
                score = score_head(y, p, classes)
                flips = "" if heads is first else f" ({sum(a != b for a, b in zip(p, first_p))} flips)"
                cells.append(f"{score.accuracy:11.1%} / {score.macro_recall:6.1%}{flips}")
            print(f"{ds:8s} {head:6s} {len(first_p):4d}  " + "  ".join(f"{c:>24}" for c in cells), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
