"""Face chips through the REAL inference path, cached for training and evaluation.

utkface: the face detector on the whole 160 px image (lookmatch.face.FaceDetector.detect_in_box
with the image as head box), best face -> lookmatch.gender.face_chip.
peta, ccp: lookmatch.pipeline.read_pose -> head box -> detect_in_box -> face_chip, as `lookmatch
predict`. ccp has no gender labels: ccp_test_gender_by_eye.json holds a gender judged by eye for
328 of the 357 ccp test street photos (see the README: noisy, ambiguous ones left out).
Every image is kept (found or not) with its detector score, eye distance and, for peta, the
whole-body box, so evaluate.py can apply the thresholds of lookmatch.gender and the body fallback.

utkface<N> (e.g. utkface40): the same UTKFace images shrunk to NxN first, then the utkface path.
utkface40 puts the eyes ~16 px apart, as in the full-body street photos of samples/ (16-19 px);
utkface16/20/24 (eyes 7-10 px) show how the model holds up on smaller faces.
Run: .venv/bin/python training/gender/chips.py [utkface|utkface<N>|peta ...]
Writes training/cache/gender/chips_<dataset>.npz (utkface ~1 min, peta ~3 min on 2 cores).
"""
from __future__ import annotations

import csv
import sys
import time


import cv2
import numpy as np

from lookmatch import datasets
from lookmatch.config import REPO_ROOT, data_dir
from lookmatch.face import FaceDetector
from lookmatch.gender import CHIP, eye_distance, face_chip
from lookmatch.images import load_image
from lookmatch.regions import Box

CACHE = REPO_ROOT / "training" / "cache" / "gender"


def utkface_rows() -> list[tuple[str, str, str, str]]:
    """(key, path, split, gender) for every UTKFace image (split from training/splits/utkface.csv)."""
    split = datasets.read_split("utkface")
    root = data_dir() / "utkface"
    with open(root / "labels.csv", newline="") as f:
        return [(r["file"], str(root / "images" / r["file"]), split[r["file"]], r["gender"])
                for r in csv.DictReader(f)]


def ccp_rows() -> list[tuple[str, str, str, str]]:
    """ccp test photos with a gender judged by eye (ccp has no gender labels; lookmatch.datasets)."""
    return [(t.key, str(t.path), t.split, t.gender) for t in datasets.load("ccp") if t.gender]


def peta_rows() -> list[tuple[str, str, str, str]]:
    return [(t.key, str(t.path), t.split, t.gender) for t in datasets.load("peta") if t.gender]


def build(dataset: str) -> None:
    from lookmatch.pipeline import read_pose

    rows = {"peta": peta_rows, "ccp": ccp_rows}.get(dataset, utkface_rows)()
    detector = FaceDetector()
    n = len(rows)
    chips = np.zeros((n, CHIP, CHIP, 3), np.uint8)
    found = np.zeros(n, bool)
    score = np.zeros(n, np.float32)
    eyes = np.zeros(n, np.float32)
    person = np.zeros(n, bool)
    head = np.zeros(n, bool)
    whole = np.full((n, 4), -1, np.int32)  # x0 y0 x1 y1 of the whole-body box (peta)
    start = time.time()
    for i, (_, path, _, _) in enumerate(rows):
        rgb = load_image(path)
        if dataset != "utkface" and dataset.startswith("utkface"):
            side = int(dataset.removeprefix("utkface"))
            rgb = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)
        if dataset.startswith("utkface"):
            person[i] = True
            box = Box(x0=0, y0=0, x1=rgb.shape[1], y1=rgb.shape[0])
        else:
            pose = read_pose(rgb)
            person[i] = pose.person
            box = pose.boxes.get("head")
            if pose.boxes.get("whole") is not None:
                w = pose.boxes["whole"]
                whole[i] = (w.x0, w.y0, w.x1, w.y1)
        head[i] = box is not None
        faces = detector.detect_in_box(rgb, box) if box is not None else []
        if faces:
            found[i] = True
            score[i] = faces[0].score
            eyes[i] = eye_distance(faces[0])
            chips[i] = face_chip(rgb, faces[0])
        if i % 250 == 0:
            print(f"{dataset} {i}/{n} {time.time() - start:.0f}s faces={found[:i + 1].sum()}", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f"chips_{dataset}.npz"
    np.savez_compressed(out, key=[r[0] for r in rows], path=[r[1] for r in rows], split=[r[2] for r in rows],
                        label=[r[3] for r in rows], chips=chips, found=found, score=score, eye_dist=eyes,
                        person=person, head=head, whole=whole)
    print(f"wrote {out}: {n} images, person {person.mean():.3f}, head {head.mean():.3f}, "
          f"face {found.mean():.3f}, {time.time() - start:.0f}s")


if __name__ == "__main__":
    for name in sys.argv[1:] or ["utkface", "utkface40", "utkface24", "utkface20", "utkface16", "peta", "ccp"]:
        build(name)
