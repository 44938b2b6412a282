"""Second half of training/check_export.py, in the runtime venv: run the exported MobileNetV2
.tflite files with lookmatch.runtime.TFLiteModel and compare top-1 with float torch.
Run: .venv/bin/python training/check_export_runtime.py
"""
from pathlib import Path

import numpy as np

from lookmatch.runtime import TFLiteModel

OUT = Path(__file__).parent / "cache" / "check_export"
# A few ImageNet-1k indices of garments (jersey = T-shirt, jean = denim).
NAMES = {610: "jersey/T-shirt", 608: "jean", 841: "sweatshirt", 655: "miniskirt", 474: "cardigan", 869: "trench coat"}

x = np.load(OUT / "check_inputs.npy")
labels = (OUT / "check_labels.txt").read_text().split("\n")
ref = np.load(OUT / "torch_logits.npy").argmax(1)
for name in ("mobilenet_v2_float.tflite", "mobilenet_v2_int8.tflite"):
    model = TFLiteModel(OUT / name)
    top1 = np.array([model(x[i:i + 1])[0].argmax() for i in range(len(x))])
    print(f"{name}: input {model.input['dtype'].__name__}, top-1 agrees with torch on "
          f"{(top1 == ref).sum()}/{len(x)}")
for i, label in enumerate(labels):
    print(f"{label:8} torch {ref[i]:4d} {NAMES.get(int(ref[i]), '')}")
