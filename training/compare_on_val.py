"""Garment model files side by side on the VAL split: how a model or an export is chosen.

Runs each .tflite given (lookmatch.garments.GarmentModel, the runtime code) on the val crops
cached by training/cache_crops.py (the pipeline's own crops of val photos), and prints accuracy /
macro recall per dataset and head. Test crops are not read.
Run: .venv/bin/python training/compare_on_val.py MODEL.tflite [MODEL.tflite ...]
"""
from __future__ import annotations

import sys
from pathlib import Path

from lookmatch.evaluation import score_head
from lookmatch.garments import HEAD_CLASSES, GarmentModel

from evaluate_model import REGION_OF, load_split, predict


def main(paths: list[str]) -> None:
    if not paths:
        sys.exit(__doc__)
    models = {Path(p).name: GarmentModel(str(Path(p).resolve())) for p in paths}
    print("dataset  head      n  " + "  ".join(f"{name:>24}" for name in models))
    for ds in ("ccp", "peta", "clothing"):
        d = load_split(ds, "val")
        preds = {name: predict(model, d["x"], d["inner"])[0] for name, model in models.items()}
        for head, classes in HEAD_CLASSES.items():
            rows = (d["region"] == REGION_OF[head]) & (d[f"y_{head}"] >= 0)
            if not rows.any():
                continue
            truth = [classes[i] for i in d[f"y_{head}"][rows]]
            cells = []
            for p in preds.values():
                s = score_head(truth, [classes[i] for i in p[head][rows]], classes)
                cells.append(f"{s.accuracy:11.1%} / {s.macro_recall:6.1%}")
            print(f"{ds:8s} {head:6s} {rows.sum():4d}  " + "  ".join(f"{c:>24}" for c in cells), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
