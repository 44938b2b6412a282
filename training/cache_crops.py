"""Run the REAL pose pipeline over ccp and peta photos and cache the crops, with some context.

For every photo of ccp and peta (all splits), lookmatch.pipeline.read_pose gives the main
person's upper / lower / whole boxes. Each box is stored with CONTEXT of its size around it
(clipped to the photo), stretched to STORE x STORE, with `inner`: where the box itself lies in
that view (x0, y0, x1, y1 as fractions). Training cuts randomly jittered boxes from the view
(augmentation); evaluation cuts exactly `inner` and prepares it as at inference
(lookmatch.garments.to_model_input). Clothing product photos are stored whole (one garment
each; no pose; inner = the whole view). Output, per dataset: training/cache/crops_<dataset>.npz with
  x (N, STORE, STORE, 3) uint8, inner (N, 4) float32, key, split, region (str),
  y_upper / y_lower / y_whole / y_gender (int, index into the contract's labels; -1 = not
  labelled for this crop)
and training/cache/pose_<dataset>.json (person found, boxes) for the person-found rate.
ccp crops also hold `parts` (N, PARTS_STORE, PARTS_STORE) uint8: the same view of the photo's
hand-drawn mask, each pixel a garment part (PART_NAMES: the contract's garment labels, skin,
everything else), NO_MASK where the photo has no mask; training learns it as an auxiliary task.
`source` says where a crop comes from: "pose" (the pipeline's box), "photo" (clothing), or
"fallback": PETA photos are low-resolution pedestrian crops on which BlazePose often finds nobody;
for those, in train/val only, fixed bands of the photo stand in for the boxes (the photo is
already a whole-body crop). Test crops are always the pipeline's own.
A crop is labelled only for its own region's head (the whole-body crop also for gender).
ccp has no gender labels (its test photos have by-eye ones, lookmatch.datasets): for its train
and val photos the face model's reading stands in where it is sure (a usable face, p >=
PSEUDO_GENDER; the face model is ~98% right there, layers/models/gender_face.md), so the body
gender head (the fallback for back views) also learns from street photos, not only PETA.
Run (runtime venv, ~10-15 min for both): .venv/bin/python training/cache_crops.py [ccp peta clothing]
`--reuse-pose` takes the boxes of a previous run from pose_<dataset>.json instead of running the
pose pipeline again (when only the crop preparation changed).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from functools import lru_cache

import cv2
import numpy as np

from lookmatch import datasets
from lookmatch.config import data_dir
from lookmatch.garments import HEAD_CLASSES, to_model_input
from lookmatch.images import BadImage, load_image
from lookmatch.regions import Box

CACHE = Path(__file__).parent / "cache"
HEADS = tuple(HEAD_CLASSES)
# PETA fallback bands (fractions of the photo's height) where the pose pipeline finds nobody.
FALLBACK = {"upper": (0.12, 0.55), "lower": (0.45, 1.0)}
CONTEXT = 0.1  # of the box's width / height, on each side
STORE = 256  # > the model's input: random crops of the view are resized down, not up
PSEUDO_GENDER = 0.9
# The parts a ccp mask pixel is mapped to (train_garments.py's auxiliary task): "other" (background,
# hair, bags, shoes, accessories), skin, then every upper, lower and whole label of the contract.
# The mask says which pixels are the upper garment, the lower one or a one-piece; the photo's label
# (by eye, as the heads learn) names it: the mask's own tags disagree with it on 12-18% of photos
# (training/label_agreement.py). One-piece pixels of a photo labelled separates are left out.
PART_NAMES = ("other", "skin", *HEAD_CLASSES["upper"], *HEAD_CLASSES["lower"], "dress", "jumpsuit")
PARTS_STORE = 64
NO_MASK = 255  # = train_garments.NO_MASK


@lru_cache(maxsize=1)
def ccp_tag_groups() -> np.ndarray:
    """ccp mask value (its label_names index) -> "other", "skin", "upper", "lower" or "one-piece"."""
    names = json.loads((data_dir() / "ccp" / "labels.json").read_text())["label_names"]
    return np.array(["upper" if n in datasets.CCP_UPPER else "lower" if n in datasets.CCP_LOWER
                     else "one-piece" if n in ("dress", "romper") else "skin" if n == "skin" else "other"
                     for n in names])


def mask_parts(truth: datasets.Truth, shape: tuple[int, int]) -> np.ndarray | None:
    """The photo's ccp mask as PART_NAMES indices (NO_MASK: not learned), at the photo's size, or
    None without a mask."""
    path = data_dir() / "ccp" / "masks" / f"{truth.key}.png"
    if truth.dataset != "ccp" or not path.is_file():
        return None
    mask = cv2.resize(cv2.imread(str(path), cv2.IMREAD_UNCHANGED), shape[1::-1], interpolation=cv2.INTER_NEAREST)
    one_piece = truth.whole if truth.whole in ("dress", "jumpsuit") else None
    part_of_group = {"other": "other", "skin": "skin", "upper": truth.upper, "lower": truth.lower,
                     "one-piece": one_piece}
    lookup = np.array([NO_MASK if part_of_group[g] is None else PART_NAMES.index(part_of_group[g])
                       for g in ccp_tag_groups()], dtype=np.uint8)
    return lookup[mask]


def context_view(box: Box, width: int, height: int) -> Box:
    """The box with CONTEXT around it, clipped to the photo."""
    mx, my = CONTEXT * box.width, CONTEXT * box.height
    return Box.clipped(box.x0 - mx, box.y0 - my, box.x1 + mx, box.y1 + my, width, height)


def with_context(rgb: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """The box and CONTEXT around it, stretched to STORE x STORE, and where the box lies in it."""
    view = context_view(box, rgb.shape[1], rgb.shape[0])
    inner = np.array([(box.x0 - view.x0) / view.width, (box.y0 - view.y0) / view.height,
                      (box.x1 - view.x0) / view.width, (box.y1 - view.y0) / view.height], dtype=np.float32)
    return to_model_input(view.crop(rgb), STORE), inner


def parts_view(parts: np.ndarray | None, box: Box) -> np.ndarray:
    """The same view as with_context's of the photo's parts (mask_parts), PARTS_STORE square."""
    if parts is None:
        return np.full((PARTS_STORE, PARTS_STORE), NO_MASK, np.uint8)
    view = context_view(box, parts.shape[1], parts.shape[0])
    return cv2.resize(view.crop(parts), (PARTS_STORE, PARTS_STORE), interpolation=cv2.INTER_NEAREST)


def label_row(truth: datasets.Truth, region: str, gender: str | None = None) -> dict[str, int]:
    """Label indices for one crop; `gender` (a pseudo-label) stands in when the truth has none."""
    row = {h: -1 for h in HEADS}
    heads = ("whole", "gender") if region == "whole" else (region,)
    for head in heads:
        label = truth.label(head) or (gender if head == "gender" else None)
        if label is not None:
            row[head] = HEAD_CLASSES[head].index(label)
    return row


def pseudo_gender(rgb: np.ndarray, pose, truth: datasets.Truth) -> str | None:
    """The face model's gender for a ccp train/val photo when it is sure, else None."""
    from lookmatch.gender import gender_model

    if truth.dataset != "ccp" or truth.split == "test" or truth.gender or not pose.boxes.get("head"):
        return None
    reading = gender_model().predict(rgb, pose.boxes["head"])
    return reading.label if reading is not None and reading.score >= PSEUDO_GENDER else None


class SavedPose:
    """A pose_<dataset>.json entry standing in for read_pose's answer (--reuse-pose)."""

    def __init__(self, entry):
        from lookmatch.regions import Box

        self.person = entry["person"]
        self.boxes = {k: Box(**b) if b else None for k, b in entry["boxes"].items()}
        self.turns = entry.get("turns", 0)


def cache(dataset: str, reuse_pose: bool = False) -> None:
    truths = datasets.load(dataset)
    saved = json.loads((CACHE / f"pose_{dataset}.json").read_text()) if reuse_pose and dataset != "clothing" else None
    rows, images, inners, part_views, poses, pseudo = [], [], [], [], {}, 0
    start = time.time()
    if dataset != "clothing":
        from lookmatch.pipeline import read_pose, upright
    for n, truth in enumerate(truths, 1):
        try:
            rgb = load_image(truth.path)
        except BadImage as exc:
            print(f"skip {truth.path}: {exc}", flush=True)
            continue
        h, w = rgb.shape[:2]
        if dataset == "clothing":
            region = next(r for r in ("upper", "lower", "whole") if truth.label(r))
            boxes = {region: Box(x0=0, y0=0, x1=w, y1=h)}
        else:
            pose = SavedPose(saved[truth.key]) if saved is not None else read_pose(rgb)
            poses[truth.key] = {"person": pose.person, "split": truth.split, "turns": pose.turns,
                                "boxes": {k: b.model_dump() if b else None for k, b in pose.boxes.items()}}
            boxes = {r: pose.boxes[r] for r in ("upper", "lower", "whole") if pose.boxes.get(r)}
            if not pose.person and dataset == "peta" and truth.split != "test":
                boxes = {"whole": Box(x0=0, y0=0, x1=w, y1=h)} | {
                    r: Box.clipped(0, top * h, w, bottom * h, w, h) for r, (top, bottom) in FALLBACK.items()}
        parts = mask_parts(truth, rgb.shape[:2]) if dataset == "ccp" else None
        if dataset != "clothing" and pose.turns:  # the boxes are of the photo turned upright
            rgb, parts = upright(rgb, pose.turns), None if parts is None else upright(parts, pose.turns)
        source = "photo" if dataset == "clothing" else "pose" if pose.person else "fallback"
        gender = None if dataset == "clothing" else pseudo_gender(rgb, pose, truth)
        pseudo += gender is not None
        for region, box in boxes.items():
            labels = label_row(truth, region, gender)
            if all(v < 0 for v in labels.values()) and truth.split != "test":
                continue  # nothing to learn from; test crops are all kept (person-level metrics)
            rows.append({"key": truth.key, "split": truth.split, "region": region, "source": source, **labels})
            view, inner = with_context(rgb, box)
            images.append(view)
            inners.append(inner)
            if dataset == "ccp":
                part_views.append(parts_view(parts, box))
        if n % 200 == 0:
            print(f"{dataset}: {n}/{len(truths)} photos, {len(rows)} crops, {time.time() - start:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    extra = {"parts": np.stack(part_views), "part_names": np.array(PART_NAMES)} if part_views else {}
    np.savez(CACHE / f"crops_{dataset}.npz", x=np.stack(images), inner=np.stack(inners), **extra,
             **{k: np.array([r[k] for r in rows]) for k in ("key", "split", "region", "source")},
             **{f"y_{h}": np.array([r[h] for r in rows], dtype=np.int64) for h in HEADS})
    if poses:
        (CACHE / f"pose_{dataset}.json").write_text(json.dumps(poses))
    found = sum(p["person"] for p in poses.values())
    print(f"{dataset}: done, {len(rows)} crops from {len(truths)} photos in {time.time() - start:.0f} s"
          + (f"; person found {found}/{len(poses)}" if poses else "")
          + (f"; gender pseudo-labels {pseudo}" if pseudo else ""), flush=True)


if __name__ == "__main__":
    reuse = "--reuse-pose" in sys.argv
    for name in [a for a in sys.argv[1:] if not a.startswith("--")] or ["clothing", "ccp", "peta"]:
        cache(name, reuse)
