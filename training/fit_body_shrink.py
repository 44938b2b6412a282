"""Fit lookmatch.gender.BODY_SHRINK for a garment model, on the VAL split.

The body gender head (GarmentModel.body_gender, the fallback when no face is usable) reads the
val whole-body crops of training/cache/crops_{ccp,peta}.npz (pipeline crops only). One
parameter: the shrink that makes the mean shrunk score equal the body head's accuracy on PETA
val (true labels). ccp val is printed for information only: its labels are the face model's
sure readings (cache_crops.py's pseudo-labels), i.e. photos with a clear face, easier than the
back views the fallback is for. Copy the printed value into lookmatch/gender.py when the
garment model changes.
Run: .venv/bin/python training/fit_body_shrink.py [GARMENT_MODEL_FILE]
"""
from __future__ import annotations

import sys

import numpy as np

from evaluate_model import inner_crop, load_split
from lookmatch import gender
from lookmatch.garments import MODEL_FILE, GarmentModel


def body_head_on_val(model: GarmentModel, dataset: str) -> tuple[float, float, int]:
    """(accuracy, mean score, n) of the body gender head on a dataset's val whole-body crops."""
    d = load_split(dataset, "val")
    rows = (d["region"] == "whole") & (d["y_gender"] >= 0)
    right, scores = [], []
    for view, inner, y in zip(d["x"][rows], d["inner"][rows], d["y_gender"][rows]):
        p = model.outputs(inner_crop(view, inner))["gender"]
        right.append(int(p.argmax()) == y)
        scores.append(float(p.max()))
    return float(np.mean(right)), float(np.mean(scores)), len(right)


def main(model_file: str = MODEL_FILE) -> None:
    model = GarmentModel(model_file)
    found = {}
    for ds in ("ccp", "peta"):
        found[ds] = accuracy, mean, n = body_head_on_val(model, ds)
        print(f"{ds} val: {n} whole-body crops, body head accuracy {accuracy:.3f}, mean score {mean:.3f}")
    accuracy, mean, _ = found["peta"]
    fit = (accuracy - 0.5) / max(1e-6, mean - 0.5)
    print(f"BODY_SHRINK fit on PETA val {min(fit, 1.0):.2f} (lookmatch.gender has {gender.BODY_SHRINK})")


if __name__ == "__main__":
    main(*sys.argv[1:])
