"""Which step of a phone-size copy moves the body gender head? The ccp val photos, step by step.

    .venv/bin/python scripts/eval_gender_blur.py [--limit N]

scripts/eval_robustness.py finds that phone-size copies of the test photos (enlarged to 4032 px,
JPEG q92, then decoded at 1/4 scale by lookmatch.images) cost gender accuracy, through the body
head (GarmentModel.body_gender: the fallback when the face is unsure). This reads the body head on
the whole-body box after each step of the copy alone. The photos are the ccp val photos whose face
the face model reads surely (score >= SURE_FACE): ccp has no gender labels for val, and the face
model is ~98% right there (layers/models/gender_face.md). The last row reads the phone-size copy on
the original's box, scaled, to tell a softer picture from a moved box.
It prints, per step, the body head's mean p(male) for the women and the men, and how often it
agrees with the face. ~4 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

import cv2
import numpy as np
from tqdm import tqdm

from lookmatch import datasets
from lookmatch.garments import garment_model
from lookmatch.gender import gender_model
from lookmatch.images import WORK_SIDE, decode_image
from lookmatch.pipeline import read_pose, scaled_boxes
from lookmatch.regions import Box

from benchmark import phone_size  # scripts/ is on the path when a script in it runs

SURE_FACE = 0.9  # as training/cache_crops.PSEUDO_GENDER (the face's gender stands in for a label)


def encoded(bgr: np.ndarray, ext: str) -> bytes:
    return cv2.imencode(ext, bgr, [cv2.IMWRITE_JPEG_QUALITY, 92] if ext == ".jpg" else [])[1].tobytes()


def decoded_in_full(data: bytes) -> np.ndarray:
    """Decoded at full size (no 1/4-scale JPEG decode), then shrunk as lookmatch.images does."""
    rgb = decode_image(data, max_side=None)
    scale = WORK_SIDE / max(rgb.shape[:2])
    return cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else rgb


AS_IS = "as it is"
PHONE_SIZE = "phone-size copy (4032 px, JPEG q92, 1/4 decode)"
# each step after AS_IS: the photo's BGR pixels -> the RGB picture the pipeline works on
STEPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "JPEG q92 again, same size": lambda bgr: decode_image(encoded(bgr, ".jpg")),
    f"enlarged (cubic) to {WORK_SIDE} px, PNG": lambda bgr: decode_image(encoded(phone_size(bgr, WORK_SIDE), ".png")),
    "enlarged to 4032 px, PNG": lambda bgr: decode_image(encoded(phone_size(bgr), ".png")),
    "enlarged to 4032 px, JPEG q92, decoded in full": lambda bgr: decoded_in_full(encoded(phone_size(bgr), ".jpg")),
    PHONE_SIZE: lambda bgr: decode_image(encoded(phone_size(bgr), ".jpg")),
}
ON_ORIGINAL_BOX = "phone-size copy, on the original's box"


def p_male(rgb: np.ndarray, box: Box) -> float:
    body = garment_model().body_gender(box.crop(rgb))
    return body.score if body.label == "male" else 1.0 - body.score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N val photos")
    args = parser.parse_args()
    faces, readings = [], {name: [] for name in [AS_IS, *STEPS, ON_ORIGINAL_BOX]}
    for truth in tqdm(datasets.load("ccp", "val")[: args.limit], desc="ccp val", unit="photo"):
        bgr = cv2.imread(str(truth.path))
        original = decode_image(truth.path.read_bytes())
        pose = read_pose(original)
        face = gender_model().predict(original, pose.boxes.get("head")) if pose.person else None
        if face is None or face.score < SURE_FACE or not pose.boxes.get("whole") or pose.turns:
            continue  # (a turned reading of an upright street photo is a pose error: left out)
        pictures = {AS_IS: original} | {name: step(bgr) for name, step in STEPS.items()}
        boxes = {AS_IS: pose.boxes["whole"]} | {name: read_pose(pictures[name]).boxes.get("whole") for name in STEPS}
        if any(box is None for box in boxes.values()):
            continue  # the same photos in every row
        faces.append(face.label)
        for name, rgb in pictures.items():
            readings[name].append(p_male(rgb, boxes[name]))
        copy = pictures[PHONE_SIZE]
        readings[ON_ORIGINAL_BOX].append(p_male(copy, scaled_boxes(pose, copy)["whole"]))

    male = np.array(faces) == "male"
    print(f"\n{len(faces)} ccp val photos with a sure face ({(~male).sum()} women, {male.sum()} men); "
          "body head's mean p(male) and agreement with the face")
    print(f"{'the photo':48} {'women':>6} {'men':>6} {'agrees':>7}")
    for name, values in readings.items():
        v = np.array(values)
        print(f"{name:48} {v[~male].mean():6.3f} {v[male].mean():6.3f} {np.mean((v > 0.5) == male):7.1%}")


if __name__ == "__main__":
    main()
