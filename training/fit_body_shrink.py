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
from pathlib import Path

import numpy as np

from evaluate_model import inner_crop
from lookmatch import gender
from lookmatch.garments import MODEL_FILE, GarmentModel

CACHE = Path(__file__).parent / "cache"


def main(model_file: str = MODEL_FILE) -> None:
    model = GarmentModel(model_file)
    for ds in ("ccp", "peta"):
        z = np.load(CACHE / f"crops_{ds}.npz")
        rows = (z["split"] == "val") & (z["region"] == "whole") & (z["source"] == "pose") & (z["y_gender"] >= 0)
        ok, sc = [], []
        for view, inner, y in zip(z["x"][rows], z["inner"][rows], z["y_gender"][rows]):
            p = model.outputs(inner_crop(view, inner))["gender"]
            ok.append(int(p.argmax()) == y)
            sc.append(float(p.max()))
        print(f"{ds} val: {len(ok)} whole-body crops, body head accuracy {np.mean(ok):.3f}, mean score {np.mean(sc):.3f}")
    fit = (np.mean(ok) - 0.5) / max(1e-6, np.mean(sc) - 0.5)  # the last set: PETA
    print(f"BODY_SHRINK fit on PETA val {min(fit, 1.0):.2f} (lookmatch.gender has {gender.BODY_SHRINK})")


if __name__ == "__main__":
    main(*sys.argv[1:])
