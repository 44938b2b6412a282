"""How right the garment colours are: the pipeline's colour of the upper and lower crops against
the colour of the garment's own pixels in ccp's hand-drawn masks.

For each ccp photo with a mask in the split: the colour of each garment as `classify` reads it
(the product's path: `read_pose`, `picture_to_classify`, `classify`), on the boxes it uses
(`scaled_boxes`). The truth for a region is the garment with the most mask pixels
inside that box, among ccp's upper tags (coat, shirt, ...) or lower tags (pants, jeans, skirt,
...), and its colour is the per-channel median of those pixels. Printed per region: the median
CIE76 distance (ΔE; black to white is 100), the share of crops within ΔE 10 / 20 / 30, and
how often the palette names agree. `--worst N` lists the N largest misses.
Run: .venv/bin/python scripts/eval_colour.py [--split val|test] [--worst 10]
"""
from __future__ import annotations

import argparse
import json
import statistics

import cv2
import numpy as np
from lookmatch import datasets
from lookmatch.colour import hex_to_lab, palette_name
from lookmatch.config import data_dir
from lookmatch.images import load_image
from lookmatch.pipeline import classify, picture_to_classify, read_pose, scaled_boxes
from tqdm import tqdm

REGION_TAGS = {"upper": datasets.CCP_UPPER, "lower": datasets.CCP_LOWER}


def true_colour(picture_mask: np.ndarray, rgb: np.ndarray, box, names: list[str], tags: dict) -> tuple[str, str] | None:
    """(tag, hex) of the region's garment: the tag with most mask pixels in the box, its median."""
    window = box.crop(picture_mask)
    counts = np.bincount(window.ravel(), minlength=len(names))
    ids = [i for i, name in enumerate(names) if name in tags and counts[i] > 0]
    if not ids:
        return None
    best = max(ids, key=lambda i: counts[i])
    if counts[best] < 0.05 * window.size:  # a sliver: the region's garment is not really there
        return None
    pixels = box.crop(rgb)[window == best]
    median = np.median(pixels, axis=0).round().astype(np.uint8)
    return names[best], "#{:02x}{:02x}{:02x}".format(*median)


def measure(split: str) -> tuple[int, list[dict]]:
    """(photos with masks in the split, one row per garment crop scored)."""
    root = data_dir() / "ccp"
    names = json.loads((root / "labels.json").read_text())["label_names"]
    photos = [t for t in datasets.load("ccp", split) if (root / "masks" / f"{t.key}.png").is_file()]
    rows = []
    for truth in tqdm(photos, desc="colour", unit="photo"):
        rgb = load_image(truth.path)
        pose = read_pose(rgb)
        if not pose.person:
            continue
        picture = picture_to_classify(rgb, pose, lambda side, path=truth.path: load_image(path, max_side=side))
        mask = cv2.imread(str(root / "masks" / f"{truth.key}.png"), cv2.IMREAD_UNCHANGED)
        mask = cv2.resize(mask, picture.shape[1::-1], interpolation=cv2.INTER_NEAREST)
        reading = classify(picture, pose)
        boxes = scaled_boxes(pose, picture)  # the boxes classify cut its crops from
        for region, tags in REGION_TAGS.items():
            garment = getattr(reading, region)
            if garment is None:  # the pose gave no box for this region
                continue
            found = true_colour(mask, picture, boxes[region], names, tags)
            if found is None:
                continue
            predicted = garment.colour.hex
            distance = float(np.linalg.norm(hex_to_lab(predicted)[0] - hex_to_lab(found[1])[0]))
            rows.append({"key": truth.key, "region": region, "tag": found[0], "true": found[1],
                         "predicted": predicted, "delta_e": distance,
                         "same_name": palette_name(predicted) == palette_name(found[1])})
    return len(photos), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="val", choices=("val", "test", "train"))
    parser.add_argument("--worst", type=int, default=0, help="list the N largest misses")
    args = parser.parse_args()
    n_photos, rows = measure(args.split)
    print(f"ccp {args.split}: {n_photos} photos with masks")
    print(f"{'region':8s} {'n':>4s} {'median ΔE':>10s} {'≤10':>6s} {'≤20':>6s} {'≤30':>6s} {'same name':>10s}")
    for region in REGION_TAGS:
        r = [row for row in rows if row["region"] == region]
        if not r:
            continue
        d = [row["delta_e"] for row in r]
        share = [f"{np.mean([x <= t for x in d]):6.1%}" for t in (10, 20, 30)]
        print(f"{region:8s} {len(r):4d} {statistics.median(d):10.1f} {' '.join(share)} "
              f"{np.mean([row['same_name'] for row in r]):10.1%}")
    for row in sorted(rows, key=lambda row: -row["delta_e"])[:args.worst]:
        print(f"  {row['key']} {row['region']:5s} {row['tag']:10s} true {row['true']} "
              f"({palette_name(row['true'])}), read {row['predicted']} ({palette_name(row['predicted'])}), "
              f"ΔE {row['delta_e']:.0f}")


if __name__ == "__main__":
    main()
