"""Proof of training/export_tflite.py on MobileNetV2 ImageNet: float torch vs float and int8 .tflite.

Exports torchvision's ImageNet MobileNetV2 (training/mobilenet_v2.py) at 224 px, float and
full-int8 calibrated on real photos (clothing/ product photos of the *train* split), writes the
.tflite files and the photos' preprocessed arrays to training/cache/check_export/, and prints the
torch top-1 classes. Then, in the runtime venv, training/check_export_runtime.py runs the .tflite
files with lookmatch.runtime.TFLiteModel and compares.
Run: .venv-train/bin/python training/check_export.py
"""
import csv
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from common import NHWCImageInput  # noqa: E402
from export_tflite import export_tflite  # noqa: E402
from mobilenet_v2 import mobilenet_v2_imagenet  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).parent / "cache" / "check_export"
SIZE = 224


def load(path: Path) -> np.ndarray:
    img = Image.open(path).convert("RGB")
    return np.asarray(img.resize((SIZE, SIZE), Image.BILINEAR), dtype=np.float32)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    split = dict(csv.reader(open(Path(__file__).parent / "splits" / "clothing.csv")))
    rows = list(csv.DictReader(open(DATA / "clothing" / "images.csv")))
    train = [r for r in rows if split.get(r["sender_id"]) == "train" and r["label"] not in ("Not sure", "Skip")]
    test = [r for r in rows if split.get(r["sender_id"]) == "test"]
    calib = np.stack([load(DATA / "clothing" / "images" / f"{r['image']}.jpg") for r in train[:64]])
    # Check photos: T-shirts and jeans-like pants from the held-out senders.
    check = [r for r in test if r["label"] == "T-Shirt"][:10] + [r for r in test if r["label"] == "Pants"][:10]
    x = np.stack([load(DATA / "clothing" / "images" / f"{r['image']}.jpg") for r in check])
    np.save(OUT / "check_inputs.npy", x)
    (OUT / "check_labels.txt").write_text("\n".join(r["label"] for r in check))

    model = torch.nn.Sequential(NHWCImageInput(), mobilenet_v2_imagenet()).eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
    np.save(OUT / "torch_logits.npy", logits)
    print("torch top-1:", logits.argmax(1).tolist())
    example = torch.from_numpy(x[:1])
    export_tflite(model, example, OUT / "mobilenet_v2_float.tflite")
    export_tflite(model, example, OUT / "mobilenet_v2_int8.tflite",
                  calibration_batches=[torch.from_numpy(calib[i:i + 16]) for i in range(0, len(calib), 16)])
    for f in sorted(OUT.glob("*.tflite")):
        print(f, f.stat().st_size // 1024, "KB")


if __name__ == "__main__":
    main()
