"""Fetch the third-party models from their pinned registry package, checking every sha256.

BlazePose (detector + full landmark model) and the short-range face detector come from the
PyPI wheel mediapipe==0.10.14 (Apache-2.0). Run at setup / build time only: nothing is
downloaded at run time. Usage: python scripts/fetch_models.py [--dest DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
# file in the wheel -> (name in the models folder, sha256)
MODELS = {
    "mediapipe/modules/pose_detection/pose_detection.tflite": (
        "pose_detection.tflite", "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),
    "mediapipe/modules/pose_landmark/pose_landmark_full.tflite": (
        "pose_landmark_full.tflite", "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
    "mediapipe/modules/face_detection/face_detection_short_range.tflite": (
        "face_detection_short_range.tflite", "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
}
DEFAULT_DEST = Path(__file__).resolve().parents[1] / "layers" / "models" / "third_party"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def all_present(dest: Path) -> bool:
    return all((dest / name).is_file() and sha256((dest / name).read_bytes()) == digest
               for name, digest in MODELS.values())


def fetch(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if all_present(dest):
        print(f"models already in {dest}, checksums good", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--python-version", "3.11", "--platform", "manylinux_2_17_x86_64",
             "mediapipe==0.10.14", "-d", tmp],
            check=True,
        )
        wheel = Path(tmp) / WHEEL
        if sha256(wheel.read_bytes()) != WHEEL_SHA256:
            raise SystemExit(f"checksum mismatch for {WHEEL}: refusing to use it")
        with zipfile.ZipFile(wheel) as archive:
            for member, (name, digest) in MODELS.items():
                data = archive.read(member)
                if sha256(data) != digest:
                    raise SystemExit(f"checksum mismatch for {member}: refusing to use it")
                (dest / name).write_bytes(data)
                print(f"{name}: {len(data):,} bytes, sha256 ok", file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    fetch(parser.parse_args().dest)
