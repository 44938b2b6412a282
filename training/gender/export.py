"""Export the gender networks to TFLite with training/export_tflite.py (litert-torch).

- training/cache/gender/baseline_float.tflite: the pretrained network as is (for evaluate.py)
- training/cache/gender/finetuned_float.tflite: ours, float
- layers/models/gender_face_int8.tflite: ours, FULL int8, calibrated on 512 real UTKFace train
  face chips (made by the inference path, chips.py)
The models take NHWC (1, 32, 32, 3) float chips in 0..255 and return [female, male] probabilities.

Run: .venv-train/bin/python training/gender/export.py
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]
from export_tflite import export_tflite  # noqa: E402
from net import CHIP, GenderExport, GenderNet  # noqa: E402

CACHE = HERE.parent / "cache" / "gender"
MODELS = HERE.parents[1] / "layers" / "models"
CALIBRATION = 512


def load(name: str) -> GenderExport:
    net = GenderNet()
    net.load_state_dict(torch.load(CACHE / f"{name}.pt"))
    return GenderExport(net.eval()).eval()


def main() -> None:
    example = torch.zeros(1, CHIP, CHIP, 3)
    d = np.load(CACHE / "chips_utkface.npz")
    train = np.flatnonzero((d["split"] == "train") & d["found"])
    pick = np.random.default_rng(0).choice(train, CALIBRATION, replace=False)
    calib = torch.from_numpy(d["chips"][pick].astype(np.float32))
    export_tflite(load("baseline"), example, CACHE / "baseline_float.tflite")
    export_tflite(load("finetuned"), example, CACHE / "finetuned_float.tflite")
    int8 = export_tflite(load("finetuned"), example, CACHE / "finetuned_int8.tflite",
                         calibration_batches=calib.split(64))
    shutil.copy(int8, MODELS / "gender_face_int8.tflite")
    for f in sorted(CACHE.glob("*.tflite")):
        print(f"{f.name}: {f.stat().st_size / 1024:.0f} KB")
    print("copied to", MODELS / "gender_face_int8.tflite")


if __name__ == "__main__":
    main()
