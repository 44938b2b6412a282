"""Run the REAL pose pipeline over ccp and peta photos and cache the model-input crops.

For every photo of ccp and peta (all splits), lookmatch.pipeline.read_pose gives the main
person's upper / lower / whole boxes; each crop is prepared exactly as at inference
(lookmatch.garments.to_model_input) and stored with its labels from lookmatch.datasets. Clothing
product photos are stored whole (one garment each; no pose). Output, per dataset:
training/cache/crops_<dataset>.npz with
  x (N, S, S, 3) uint8, key, split, region (str), y_upper / y_lower / y_whole / y_gender (int,
  index into the contract's labels; -1 = not labelled for this crop)
and training/cache/pose_<dataset>.json (person found, boxes) for the person-found rate.
`source` says where a crop comes from: "pose" (the pipeline's box), "photo" (clothing), or
"fallback": PETA photos are low-resolution pedestrian crops on which BlazePose often finds nobody;
for those, in train/val only, fixed bands of the photo stand in for the boxes (the photo is
already a whole-body crop). Test crops are always the pipeline's own.
A crop is labelled only for its own region's head (the whole-body crop also for gender).
Run (runtime venv, ~10-15 min for both): .venv/bin/python training/cache_crops.py [ccp peta clothing]
`--reuse-pose` takes the boxes of a previous run from pose_<dataset>.json instead of running the
pose pipeline again (when only the crop preparation changed).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from lookmatch import datasets
from lookmatch.garments import HEAD_CLASSES, to_model_input
from lookmatch.images import BadImage, load_image

CACHE = Path(__file__).parent / "cache"
HEADS = tuple(HEAD_CLASSES)
# PETA fallback bands (fractions of the photo's height) where the pose pipeline finds nobody.
FALLBACK = {"upper": (0.12, 0.55), "lower": (0.45, 1.0)}


def label_row(truth: datasets.Truth, region: str) -> dict[str, int]:
    row = {h: -1 for h in HEADS}
    heads = ("whole", "gender") if region == "whole" else (region,)
    for head in heads:
        if truth.label(head) is not None:
            row[head] = HEAD_CLASSES[head].index(truth.label(head))
    return row


class SavedPose:
    """A pose_<dataset>.json entry standing in for read_pose's answer (--reuse-pose)."""

    def __init__(self, entry):
        from lookmatch.regions import Box

        self.person = entry["person"]
        self.boxes = {k: Box(**b) if b else None for k, b in entry["boxes"].items()}


def cache(dataset: str, reuse_pose: bool = False) -> None:
    truths = datasets.load(dataset)
    saved = json.loads((CACHE / f"pose_{dataset}.json").read_text()) if reuse_pose and dataset != "clothing" else None
    rows, images, poses = [], [], {}
    start = time.time()
    if dataset != "clothing":
        from lookmatch.pipeline import read_pose
    for n, truth in enumerate(truths, 1):
        try:
            rgb = load_image(truth.path)
        except BadImage as exc:
            print(f"skip {truth.path}: {exc}", flush=True)
            continue
        if dataset == "clothing":
            region = next(r for r in ("upper", "lower", "whole") if truth.label(r))
            crops = {region: rgb}
        else:
            pose = SavedPose(saved[truth.key]) if saved is not None else read_pose(rgb)
            poses[truth.key] = {"person": pose.person, "split": truth.split,
                                "boxes": {k: b.model_dump() if b else None for k, b in pose.boxes.items()}}
            crops = {r: pose.boxes[r].crop(rgb) for r in ("upper", "lower", "whole") if pose.boxes.get(r)}
            if not pose.person and dataset == "peta" and truth.split != "test":
                h = rgb.shape[0]
                crops = {"whole": rgb, "upper": rgb[int(FALLBACK["upper"][0] * h):int(FALLBACK["upper"][1] * h)],
                         "lower": rgb[int(FALLBACK["lower"][0] * h):]}
        source = "photo" if dataset == "clothing" else "pose" if pose.person else "fallback"
        for region, crop in crops.items():
            labels = label_row(truth, region)
            if all(v < 0 for v in labels.values()) and truth.split != "test":
                continue  # nothing to learn from; test crops are all kept (person-level metrics)
            rows.append({"key": truth.key, "split": truth.split, "region": region, "source": source, **labels})
            images.append(to_model_input(crop))
        if n % 200 == 0:
            print(f"{dataset}: {n}/{len(truths)} photos, {len(rows)} crops, {time.time() - start:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE / f"crops_{dataset}.npz", x=np.stack(images),
             **{k: np.array([r[k] for r in rows]) for k in ("key", "split", "region", "source")},
             **{f"y_{h}": np.array([r[h] for r in rows], dtype=np.int64) for h in HEADS})
    if poses:
        (CACHE / f"pose_{dataset}.json").write_text(json.dumps(poses))
    found = sum(p["person"] for p in poses.values())
    print(f"{dataset}: done, {len(rows)} crops from {len(truths)} photos in {time.time() - start:.0f} s"
          + (f"; person found {found}/{len(poses)}" if poses else ""), flush=True)


if __name__ == "__main__":
    reuse = "--reuse-pose" in sys.argv
    for name in [a for a in sys.argv[1:] if not a.startswith("--")] or ["clothing", "ccp", "peta"]:
        cache(name, reuse)
