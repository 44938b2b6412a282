"""Speed of the vision pipeline: per stage and per photo, int8 and float side by side.

For N photos (the samples, then the ccp test split when ../shared/data is there) it prints the
median and p90 milliseconds of each stage (decode, pose, face + gender, garments) and per photo,
with the interpreters on one thread and on all cores, the photos per second of one worker process
per core, model load times, model sizes and peak memory.

    .venv/bin/python scripts/benchmark.py [-n 40] [--float-models DIR] [--long-side 4032] [--far-away]

--long-side PX times phone-size uploads: each photo is first enlarged to that longer side and
saved as a JPEG (quality 92), so decode sees a 10-megapixel file (the pipeline reads photos at
most images.WORK_SIDE px big; see lookmatch/images.py).
--far-away times photos of a person shot from across the street (`far_away`): the pose stage
then looks through zoomed windows, and the crops come from a second, larger decode
(pipeline.picture_to_classify), which "decode" includes.

"float" runs the float reference models (the same networks before int8 quantization) that
`training/` writes into training/cache; when they are absent only int8 is measured. BlazePose and the face detector
are the same (float16-weight) files in both columns.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from lookmatch import datasets
from lookmatch.config import REPO_ROOT, model_dir
from lookmatch.contract import GARMENT_REGIONS
from lookmatch.garments import MODEL_FILE as GARMENTS_INT8, GarmentModel
from lookmatch.gender import MODEL_FILE as GENDER_INT8, GenderModel
from lookmatch.images import load_image
from lookmatch.pipeline import classify, picture_to_classify, read_pose, scaled_boxes
from lookmatch.pose import PoseEstimator

# The float references are written by the training scripts (training/README.md), not shipped.
FLOAT_DIR = REPO_ROOT / "training" / "cache"
GARMENTS_FLOAT, GENDER_FLOAT = "garments_float.tflite", "gender/finetuned_float.tflite"


def photos(n: int) -> list[Path]:
    found = sorted((REPO_ROOT / "samples" / "photos").glob("*.jpg"))
    try:
        found += [truth.path for truth in datasets.load("ccp", "test")]
    except FileNotFoundError as error:  # the shared data is optional here
        print(f"(ccp test photos unavailable: {error})", file=sys.stderr)
    return found[:n]


def phone_size(bgr: np.ndarray, long_side: int = 4032) -> np.ndarray:
    """A photo enlarged (cubic) to a phone camera's longer side."""
    scale = long_side / max(bgr.shape[:2])
    return cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def far_away(bgr: np.ndarray) -> np.ndarray:
    """The photo at a third of the height of a 4:3 landscape picture, as a person shot from across
    the street (feet nearer the bottom). Around it, its edge pixels drawn outwards and blurred: a
    backdrop with nobody in it (a blurred enlargement of the photo itself would hold a giant
    ghost of the person, which the pose stage may take for the main one)."""
    h, w = bgr.shape[:2]
    height, width = 3 * h, 4 * h
    y0, x0 = (height - h) * 2 // 3, (width - w) // 2
    canvas = cv2.copyMakeBorder(bgr, y0, height - h - y0, x0, width - w - x0, cv2.BORDER_REPLICATE)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 8)
    canvas[y0:y0 + h, x0:x0 + w] = bgr
    return canvas


def changed(paths: list[Path], change, folder: Path) -> list[Path]:
    """Each photo changed by `change` (BGR -> BGR), saved as a JPEG (quality 92) in folder."""
    folder.mkdir(exist_ok=True)
    out = []
    for path in paths:
        out.append(folder / f"{path.stem}.jpg")
        cv2.imwrite(str(out[-1]), change(cv2.imread(str(path))), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return out


def load_models(variant: str, threads: int, float_dir: Path) -> tuple[dict, dict[str, float]]:
    files = {"int8": (GARMENTS_INT8, GENDER_INT8),
             "float": (float_dir / GARMENTS_FLOAT, float_dir / GENDER_FLOAT)}[variant]
    load = {}
    t = time.perf_counter(); pose = PoseEstimator(num_threads=threads); load["pose"] = time.perf_counter() - t
    t = time.perf_counter(); garments = GarmentModel(files[0], num_threads=threads); load["garments"] = time.perf_counter() - t
    t = time.perf_counter(); gender = GenderModel(files[1], num_threads=threads); load["gender"] = time.perf_counter() - t
    return {"pose": pose, "garments": garments, "gender": gender}, load


def time_photo(path: Path, models: dict) -> dict[str, float]:
    """One photo through the pipeline's own functions, each stage timed."""
    out = {}
    t0 = time.perf_counter()
    rgb = load_image(path)
    t1 = time.perf_counter()
    pose = read_pose(rgb, models["pose"])
    t2 = time.perf_counter()
    detail = picture_to_classify(rgb, pose, lambda side: load_image(path, max_side=side))
    t3 = time.perf_counter()
    classify(detail, pose, models["garments"], models["gender"])
    t4 = time.perf_counter()
    out.update(decode=(t1 - t0) + (t3 - t2), pose=t2 - t1, classify=t4 - t3, photo=t4 - t0)
    # The classify stage split in two: the garment runs, and face + gender (face detector, chip, model).
    if pose.person:
        boxes = scaled_boxes(pose, detail)
        crops = {r: boxes[r].crop(detail) for r in GARMENT_REGIONS if boxes.get(r) is not None}
        t = time.perf_counter()
        for region, crop in crops.items():
            models["garments"].read(crop, region)
        out["garments"] = time.perf_counter() - t
        t = time.perf_counter()
        models["gender"].predict(detail, boxes.get("head"), None)
        out["face+gender"] = time.perf_counter() - t
    return out


def run_variant(paths: list[Path], variant: str, threads: int, float_dir: Path) -> dict:
    models, load = load_models(variant, threads, float_dir)
    time_photo(paths[0], models)  # warm-up
    times: dict[str, list[float]] = {}
    for path in paths:
        for stage, seconds in time_photo(path, models).items():
            times.setdefault(stage, []).append(seconds * 1000)
    return {"times": times, "load": load}


def _worker_init(variant: str, float_dir: Path) -> None:
    global _MODELS
    _MODELS, _ = load_models(variant, 1, float_dir)


def _worker_photo(path: Path) -> float:
    return time_photo(path, _MODELS)["photo"]


def throughput(paths: list[Path], variant: str, float_dir: Path, workers: int) -> float:
    with ProcessPoolExecutor(workers, initializer=_worker_init, initargs=(variant, float_dir)) as pool:
        list(pool.map(_worker_photo, paths[:workers]))  # load + warm up every worker
        t = time.perf_counter()
        list(pool.map(_worker_photo, paths))
        return len(paths) / (time.perf_counter() - t)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="number of photos (default 40)")
    parser.add_argument("--float-models", type=Path, default=FLOAT_DIR,
                        help=f"folder of {GARMENTS_FLOAT} and {GENDER_FLOAT} (default training/cache)")
    parser.add_argument("--long-side", type=int, metavar="PX",
                        help="time phone-size uploads: photos enlarged to this longer side first (e.g. 4032)")
    parser.add_argument("--far-away", action="store_true",
                        help="time photos of a person a third of a 4:3 picture's height (far_away)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = photos(args.n)
        if args.far_away:
            paths = changed(paths, far_away, Path(tmp) / "far")
        if args.long_side:
            paths = changed(paths, lambda bgr: phone_size(bgr, args.long_side), Path(tmp))
        report(paths, args)


def report(paths: list[Path], args: argparse.Namespace) -> None:
    cores = os.cpu_count() or 1
    variants = ["int8"] + (["float"] if (args.float_models / GARMENTS_FLOAT).is_file()
                           and (args.float_models / GENDER_FLOAT).is_file() else [])
    size = (" far away" if args.far_away else "") + (f" enlarged to {args.long_side} px" if args.long_side else "")
    print(f"{len(paths)} photos{size}; {cores} cores; {os.uname().machine}; models in {model_dir()}")

    rows, loads = {}, {}
    for variant in variants:
        for threads in (1, cores):
            result = run_variant(paths, variant, threads, args.float_models)
            rows[(variant, threads)] = result["times"]
            loads.setdefault(variant, result["load"])
    stages = ["decode", "pose", "face+gender", "garments", "classify", "photo"]
    header = "".join(f"{f'{v} {t}thr':>22}" for v, t in rows)
    print(f"\nmilliseconds, median / p90{'':4}{header}")
    for stage in stages:
        cells = "".join(f"{statistics.median(r[stage]):>12.1f} / {pct(r[stage], 90):>6.1f}"
                        if r.get(stage) else f"{'-':>22}" for r in rows.values())
        print(f"{stage:<30}{cells}")
    for variant in variants:
        rate = throughput(paths, variant, args.float_models, cores)
        print(f"\n{variant}: {rate:.1f} photos/s with {cores} worker processes (1 thread each)")
        print(f"{variant}: model load " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in loads[variant].items()))
    print("\nmodel sizes:")
    sizes = {p.name: p.stat().st_size for p in sorted(model_dir().rglob("*.tflite"))}
    for name, size in sizes.items():
        print(f"  {name:<52}{size / 1e6:>7.2f} MB")
    print(f"  {'shipped in all':<52}{sum(sizes.values()) / 1e6:>7.2f} MB")
    for f in (GARMENTS_FLOAT, GENDER_FLOAT):
        if (args.float_models / f).is_file():
            print(f"  {f + ' (float, not shipped)':<52}{(args.float_models / f).stat().st_size / 1e6:>7.2f} MB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (this process, all variants loaded in turn): {peak:.0f} MB")


if __name__ == "__main__":
    main()
