"""How often the Pose stage finds the person and boxes the body, on real photos.

    .venv/bin/python scripts/eval_person_found.py                 # ccp: 1,842 full-body street photos
    .venv/bin/python scripts/eval_person_found.py --set peta      # low-resolution pedestrians
    .venv/bin/python scripts/eval_person_found.py --limit 200 --misses /tmp/misses.txt

Prints the share of photos with a person found, the share with all of head/upper/lower/whole boxes,
the share with a face found in the head box (FaceDetector.detect_in_box, for the gender model),
the time per photo (decode and read_pose separately, one thread), and for the ccp photos with pixel
masks how well the upper / lower / whole boxes cover the garments: recall = share of the region's
garment-mask pixels inside its box, fill = share of the box that is that garment.
BlazePose was not trained on these photos, so every photo is fair to use.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from lookmatch.config import data_dir
from lookmatch.datasets import CCP_LOWER, CCP_UPPER
from lookmatch.face import FaceDetector
from lookmatch.images import BadImage, load_image
from lookmatch.pipeline import pose_estimator, read_pose, upright
from lookmatch.pose import PoseEstimator

NEEDED = ("head", "upper", "lower", "whole")
ONE_PIECE = ("dress", "romper")


def photos(which: str, root: Path) -> list[tuple[str, Path, Path | None]]:
    """(key, photo, mask or None) for every photo of the set."""
    if which == "ccp":
        images = json.loads((root / "ccp" / "labels.json").read_text())["images"]
        return [(k, root / "ccp" / "photos" / f"{k}.jpg",
                 root / "ccp" / "masks" / f"{k}.png" if e.get("source") == "pixel" else None)
                for k, e in sorted(images.items())]
    records = json.loads((root / "peta" / "labels.json").read_text())
    return [(Path(r["file"]).stem, root / "peta" / "images" / r["file"], None) for r in records]


def garment_masks(mask_path: Path, label_names: list[str]) -> dict[str, np.ndarray]:
    """Boolean masks of the upper garments, lower garments, and all garments (incl. one-pieces)."""
    mask = np.asarray(Image.open(mask_path))
    def of(tags) -> np.ndarray:
        ids = [label_names.index(t) for t in tags if t in label_names]
        return np.isin(mask, ids)
    upper, lower = of(CCP_UPPER), of(CCP_LOWER)
    return {"upper": upper, "lower": lower, "whole": upper | lower | of(ONE_PIECE)}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=("ccp", "peta"), default="ccp")
    ap.add_argument("--data", type=Path, default=None, help="shared data folder (default ../shared/data)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos")
    ap.add_argument("--misses", type=Path, help="write the keys of photos missing a person or a box here")
    ap.add_argument("--landmark-model", help="another BlazePose landmark .tflite (lite, heavy) to compare")
    args = ap.parse_args(argv)

    root = args.data or data_dir()
    items = photos(args.set, root)
    if args.limit:
        items = items[: args.limit]
    label_names = json.loads((root / "ccp" / "labels.json").read_text())["label_names"] if args.set == "ccp" else []

    start = time.perf_counter()  # load the models before timing
    estimator = PoseEstimator(landmark_model=args.landmark_model) if args.landmark_model else pose_estimator()
    faces = FaceDetector()
    load_time = time.perf_counter() - start

    found = complete = bad = 0
    counts = {name: 0 for name in ("head", "upper", "lower", "whole", "feet")}
    several = with_face = 0
    t_decode, t_pose = [], []
    cover: dict[str, list[tuple[float, float]]] = {"upper": [], "lower": [], "whole": []}
    misses = []
    for key, path, mask_path in tqdm(items, desc=f"read_pose {args.set}", file=sys.stderr):
        t0 = time.perf_counter()
        try:
            rgb = load_image(path)
        except BadImage as err:
            bad += 1
            misses.append(f"{key}\tbad image: {err}")
            continue
        t1 = time.perf_counter()
        reading = read_pose(rgb, estimator) if args.landmark_model else read_pose(rgb)
        t2 = time.perf_counter()
        rgb = upright(rgb, reading.turns)  # the picture the boxes belong to
        t_decode.append(t1 - t0)
        t_pose.append(t2 - t1)
        found += reading.person
        several += reading.people_count > 1
        for name in counts:
            counts[name] += reading.boxes[name] is not None
        head = reading.boxes["head"]
        with_face += head is not None and bool(faces.detect_in_box(rgb, head))
        has_all = all(reading.boxes[n] is not None for n in NEEDED)
        complete += has_all
        if not has_all:
            missing = [n for n in NEEDED if reading.boxes[n] is None]
            misses.append(f"{key}\t{'no person' if not reading.person else 'missing ' + ','.join(missing)}")
        if mask_path is not None and reading.person:
            masks = {region: upright(m, reading.turns) for region, m in garment_masks(mask_path, label_names).items()}
            for region, m in masks.items():
                total = int(m.sum())
                box = reading.boxes[region]
                if total < 0.002 * m.size:  # no such garment in this photo
                    continue
                if box is None:
                    cover[region].append((0.0, 0.0))
                    continue
                inside = int(box.crop(m).sum())
                cover[region].append((inside / total, inside / box.area))

    n = len(t_pose)
    print(f"set: {args.set}, photos read: {n} (+{bad} unreadable), models loaded in {load_time:.2f} s")
    print(f"person found: {pct(found / n)} ({found}/{n}); more than one person: {pct(several / n)}")
    print(f"all of head/upper/lower/whole: {pct(complete / n)} ({complete}/{n})")
    print("each box: " + ", ".join(f"{k} {pct(v / n)}" for k, v in counts.items()))
    print(f"face found in the head box: {pct(with_face / n)} ({with_face}/{n})")
    d, p = np.array(t_decode) * 1000, np.array(t_pose) * 1000
    print(f"time per photo (ms): decode median {np.median(d):.1f} p90 {np.percentile(d, 90):.1f}; "
          f"read_pose median {np.median(p):.1f} p90 {np.percentile(p, 90):.1f} (1 thread)")
    for region, vals in cover.items():
        if vals:
            a = np.array(vals)
            print(f"{region} box vs garment masks ({len(a)} photos): recall mean {pct(a[:, 0].mean())} "
                  f"median {pct(np.median(a[:, 0]))}, share of photos with recall >= 90% "
                  f"{pct((a[:, 0] >= 0.9).mean())}; fill mean {pct(a[:, 1].mean())}")
    if args.misses:
        args.misses.write_text("\n".join(misses) + ("\n" if misses else ""))
        print(f"{len(misses)} misses listed in {args.misses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
