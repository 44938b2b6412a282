"""Does a reading survive what real uploads do to a photo? The test photos, changed, end to end.

    .venv/bin/python scripts/eval_robustness.py [--set ccp] [--split test] [--limit N]

Each held-out test photo (val photo with --split val: how a model is chosen) goes through
`lookmatch.pipeline.predict_file` as it is and as variants a shopper's upload could be:
- phone size: enlarged (cubic) to a 4032 px longer side and saved as a JPEG (quality 92);
- wide framing: the photo in the middle of a 4:3 landscape picture (its own blurred copy on
  the sides), so the person fills a third to a half of the width;
- mirrored: flipped left to right;
- far away: the photo at a third of the height of a 4:3 landscape picture (its edges drawn
  outwards around it), as a shot from across the street; the person is then ~250 px tall at
  the pipeline's working size (benchmark.far_away);
- turned: rotated a quarter turn clockwise with no EXIF orientation tag (an app that dropped the
  tag without turning the pixels), so the person lies on their side;
- upside down: turned half a turn, the same way;
- knees up: the bottom 28% of the photo cut off, as a photo framed from the knees up (the
  ccp photos show the whole person, head to feet, in about 90% of their height);
- half light, dark: every pixel at 50% / 30% of its value, as an underexposed evening shot.
It prints, per variant, person found and each head's accuracy (as `lookmatch evaluate`), how
often the variant's label equals the original's, and the paired test against the original
(photos only one of them reads right; exact McNemar p). Nothing here is trained on: the figures
say how stable the pipeline is, not how good it is.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from lookmatch import datasets
from lookmatch.evaluation import HEADS, compare_reports, evaluate_predictions
from lookmatch.pipeline import predict_file

from benchmark import far_away, phone_size  # scripts/ is on the path when a script in it runs


def wide_framing(bgr: np.ndarray) -> np.ndarray:
    h, w = bgr.shape[:2]
    width = max(w, round(h * 4 / 3))
    canvas = cv2.resize(cv2.GaussianBlur(bgr, (0, 0), 15), (width, h))
    x0 = (width - w) // 2
    canvas[:, x0:x0 + w] = bgr
    return canvas


KNEES_UP = 0.72  # share of the photo's height kept


def knees_up(bgr: np.ndarray) -> np.ndarray:
    return bgr[: round(bgr.shape[0] * KNEES_UP)]


def darker(factor: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda bgr: (bgr * factor).astype(np.uint8)


VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "phone size": phone_size,
    "wide framing": wide_framing,
    "mirrored": lambda bgr: cv2.flip(bgr, 1),
    "far away": far_away,
    "turned": lambda bgr: cv2.rotate(bgr, cv2.ROTATE_90_CLOCKWISE),
    "upside down": lambda bgr: cv2.rotate(bgr, cv2.ROTATE_180),
    "knees up": knees_up,
    "half light": darker(0.5),
    "dark": darker(0.3),
}


def predict_all(paths: list[Path], what: str) -> list[str]:
    return [predict_file(p).to_json_line() for p in tqdm(paths, desc=what, unit="photo")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="ccp", choices=("ccp", "peta"), help="test photos of this dataset")
    parser.add_argument("--split", default="test", choices=("test", "val"), help="which held-out photos")
    parser.add_argument("--limit", type=int, help="only the first N photos")
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS), default=tuple(VARIANTS),
                        metavar="VARIANT", help=f"only these variants (default: all of {', '.join(VARIANTS)})")
    args = parser.parse_args()
    variants = {name: VARIANTS[name] for name in args.variants}
    truths = datasets.load(args.set, args.split)[: args.limit]
    originals = [t.path for t in truths]
    lines = {"as is": predict_all(originals, "as is")}
    with tempfile.TemporaryDirectory() as tmp:
        for name, change in variants.items():
            folder = Path(tmp) / name.replace(" ", "_")
            folder.mkdir()
            paths = []
            for truth in truths:
                # named <dataset>_<key>.jpg, so lookmatch.evaluation matches it to its ground truth
                paths.append(folder / f"{args.set}_{truth.key}.jpg")
                cv2.imwrite(str(paths[-1]), change(cv2.imread(str(truth.path))), [cv2.IMWRITE_JPEG_QUALITY, 92])
            lines[name] = predict_all(paths, name)

    reports = {name: evaluate_predictions(found, args.split) for name, found in lines.items()}
    labels = {name: [json.loads(line) for line in found] for name, found in lines.items()}
    print(f"\n{args.set} {args.split} photos: {len(truths)}; accuracy per head (same labels as `lookmatch evaluate`)")
    print(f"{'variant':14} {'person':>7} " + " ".join(f"{h:>7}" for h in HEADS))
    for name, report in reports.items():
        cells = " ".join(f"{report.heads[h].accuracy:7.1%}" if h in report.heads else f"{'-':>7}" for h in HEADS)
        print(f"{name:14} {report.person_found / report.photos:7.1%} {cells}")
    print("\nsame label as the original photo (all photos, a missing reading counts as a label)")
    for name in variants:
        same = [sum((a.get(h) or {}).get("label") == (b.get(h) or {}).get("label")
                    for a, b in zip(labels["as is"], labels[name])) / len(truths) for h in HEADS]
        print(f"{name:14} " + " ".join(f"{h} {s:.1%}" for h, s in zip(HEADS, same)))
    print("\npaired against the original: photos only the variant reads right / only the original; McNemar p")
    for name in variants:
        comparison = compare_reports(reports[name], reports["as is"])
        print(f"{name:14} " + "  ".join(f"{h} {c.only_a}/{c.only_b} p={c.p_value:.2f}" for h, c in comparison.items()))


if __name__ == "__main__":
    main()
