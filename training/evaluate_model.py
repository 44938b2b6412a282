"""Garment model on the TEST split only: int8 against float, per head, with confusion matrices.

Reads the test crops cached by training/cache_crops.py (the real pose pipeline's crops of test
photos), runs layers/models/garments_int8.tflite and training/cache/garments_float.tflite with
lookmatch.garments.GarmentModel (the runtime code), and scores them with lookmatch.evaluation.
People photos (ccp + peta) give the headline figures; clothing product photos are reported apart.
Two views per head: on the crops the pipeline produced, and on all labelled test photos (a photo
whose region the pipeline did not find counts as wrong).
Writes training/cache/metrics.json and training/cache/metrics.md (pasted into the model card).
Run: .venv/bin/python training/evaluate_model.py [--name NAME]
(--name: an experiment's pair, training/cache/NAME_int8.tflite and NAME_float.tflite, written to
training/cache/NAME_metrics.{md,json})
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from lookmatch import datasets
from lookmatch.evaluation import format_confusion, score_head
from lookmatch.garments import HEAD_CLASSES, GarmentModel

HERE = Path(__file__).parent
CACHE = HERE / "cache"
MODELS = {"int8": HERE.parent / "layers" / "models" / "garments_int8.tflite", "float": CACHE / "garments_float.tflite"}
REGION_OF = {"upper": "upper", "lower": "lower", "whole": "whole", "gender": "whole"}


def load_split(dataset, split="test"):
    """The cached crops of one split; the pipeline's own crops only (no PETA fallback bands)."""
    z = np.load(CACHE / f"crops_{dataset}.npz")
    keep = (z["split"] == split) & (z["source"] != "fallback")
    return {k: z[k][keep] for k in z.files if k != "part_names"}  # part_names: one per part, not per crop


def inner_crop(view: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The pipeline's own box out of a cached view (cache_crops.py stores it with context)."""
    h, w = view.shape[:2]
    x0, y0, x1, y1 = np.round(inner * [w, h, w, h]).astype(int)
    return view[y0:y1, x0:x1]


def predict(model: GarmentModel, x: np.ndarray, inner: np.ndarray) -> tuple[dict[str, np.ndarray], float]:
    """Argmax per head and the unit embedding ("embedding", (N, 128)) for every crop, and the
    median ms per crop (one thread, incl. resize)."""
    preds = {h: [] for h in (*HEAD_CLASSES, "embedding")}
    times = []
    for view, box in zip(x, inner):
        crop = inner_crop(view, box)
        t = time.perf_counter()
        out = model.outputs(crop)
        times.append(time.perf_counter() - t)
        for h in HEAD_CLASSES:
            preds[h].append(int(out[h].argmax()))
        preds["embedding"].append(out["embedding"])
    return {h: np.array(v) for h, v in preds.items()}, 1000 * float(np.median(times))


def labelled_crops(d: dict[str, np.ndarray], preds: dict[str, np.ndarray]):
    """Per head with labelled crops in d: (head, classes, rows, true labels, predicted labels)."""
    for head, classes in HEAD_CLASSES.items():
        rows = (d["region"] == REGION_OF[head]) & (d[f"y_{head}"] >= 0)
        if rows.any():
            yield (head, classes, rows, [classes[i] for i in d[f"y_{head}"][rows]],
                   [classes[i] for i in preds[head][rows]])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", help="an experiment's files: training/cache/NAME_{int8,float}.tflite")
    args = parser.parse_args()
    models = MODELS if args.name is None else {kind: CACHE / f"{args.name}_{kind}.tflite" for kind in MODELS}
    out = "metrics" if args.name is None else f"{args.name}_metrics"  # a name may hold a dot: no with_suffix
    results, lines, embeddings = {}, [], {}
    data = {ds: load_split(ds) for ds in ("ccp", "peta", "clothing")}
    truth = {ds: {t.key: t for t in datasets.load(ds, "test")} for ds in ("ccp", "peta")}
    for kind, path in models.items():
        model = GarmentModel(str(path))
        res = results[kind] = {"size_kb": path.stat().st_size // 1024}
        for ds, d in data.items():
            preds, ms = predict(model, d["x"], d["inner"])
            embeddings[kind, ds] = preds["embedding"]
            res.setdefault("ms_per_crop", []).append(ms)
            for head, classes, rows, y, p in labelled_crops(d, preds):
                res[f"{ds}/{head}/crops"] = score_head(y, p, classes)
                if ds in truth:  # all labelled test photos: a missing crop is a miss
                    found = dict(zip(d["key"][rows], p))
                    keys = [k for k, t in truth[ds].items() if t.label(head)]
                    res[f"{ds}/{head}/photos"] = score_head([truth[ds][k].label(head) for k in keys],
                                                            [found.get(k) for k in keys], classes)
        for head, classes in HEAD_CLASSES.items():  # people photos: ccp + peta together
            for view in ("crops", "photos"):
                parts = [res[f"{ds}/{head}/{view}"] for ds in ("ccp", "peta") if f"{ds}/{head}/{view}" in res]
                if parts:
                    y, p = [], []
                    for s in parts:
                        cols = list(s.classes) + [None]
                        for i, c in enumerate(s.classes):
                            for j, n in enumerate(s.confusion[i]):
                                y += [c] * int(n)
                                p += [cols[j]] * int(n)
                    res[f"people/{head}/{view}"] = score_head(y, p, classes)
        res["ms_per_crop"] = float(np.median(res["ms_per_crop"]))

    def fmt(s):
        return f"{s.accuracy:6.1%} / {s.macro_recall:6.1%} (n={s.n})"

    keys = [k for k in results["int8"] if "/" in k]
    lines += ["| set / head / view | int8 acc / macro recall | float acc / macro recall |", "|---|---|---|"]
    for k in sorted(keys, key=lambda k: (k.split("/")[0] != "people", k)):
        lines.append(f"| {k} | {fmt(results['int8'][k])} | {fmt(results['float'][k])} |")
    lines += ["", f"Size: int8 {results['int8']['size_kb']} KB, float {results['float']['size_kb']} KB. "
              f"Median time per crop (1 thread, incl. resize): int8 {results['int8']['ms_per_crop']:.1f} ms, "
              f"float {results['float']['ms_per_crop']:.1f} ms.", ""]
    # ranking by look compares embeddings: how far int8 moves them (1 = the float model's direction)
    cosines = {ds: (embeddings["int8", ds] * embeddings["float", ds]).sum(1) for ds in data}
    lines += ["Embedding, int8 against float, cosine per crop (mean / 5th percentile): " + ", ".join(
        f"{ds} {c.mean():.3f} / {np.percentile(c, 5):.3f}" for ds, c in cosines.items()) + ".", ""]
    for head in HEAD_CLASSES:
        for ds in ("people", "clothing"):
            k = f"{ds}/{head}/crops"
            if k in results["int8"]:
                lines += [f"Confusion, int8, {k} (rows truth, columns prediction):", "```",
                          format_confusion(results["int8"][k]), "```", ""]
    text = "\n".join(lines)
    (CACHE / f"{out}.md").write_text(text)
    (CACHE / f"{out}.json").write_text(json.dumps(
        {kind: {k: ({"n": v.n, "accuracy": v.accuracy, "macro_recall": v.macro_recall, "recall": v.recall,
                     "confusion": v.confusion.tolist()} if hasattr(v, "confusion") else v)
                for k, v in r.items()} for kind, r in results.items()}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
