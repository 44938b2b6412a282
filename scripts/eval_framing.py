"""Does the pipeline report only the body parts that are in the picture? Photos cut to part of the body.

    .venv/bin/python scripts/eval_framing.py [--split val|test] [--limit N]

A shopper may photograph only part of themselves: the top half for a jacket, the legs for a pair of
trousers. Each held-out ccp photo whose full reading has both shoulders, both hips and a knee in
frame is cut where its own pose says (T: torso length, shoulder line to hip line):
- chest up: the rows above shoulder line + 0.5 T. No lower body, so no whole-body garment either;
- waist up: the rows above hip line + 0.2 T (a sliver of waistband). No lower garment to read;
- hips down: the rows below hip line - 0.1 T. No head or upper body; the lower garment is there;
- thighs down: the rows below halfway from hips to knees. No head, upper body or whole body;
- side cut: the columns right of a quarter shoulder width inside the left-hand shoulder
  (`evaluation.side_cut`): that shoulder is just out of the picture, the rest all there;
- portrait: the chest-up rows, cut at both sides a tenth of a shoulder width inside each shoulder
  (`evaluation.portrait_cut`): a portrait framed tight. No lower body, so no whole-body garment.
Each cut goes through `read_pose` and `classify` as an upload would. The script prints, per
framing, how often each region is reported, which of those should not be (the picture does not
hold it), and the accuracy of the labels read, against the by-eye labels.
Last, the pictures with no one in them: the clothing product photos of the split
(`datasets.product_photos`), and how often a person (and which region) is reported there.
"""
from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

from lookmatch import datasets
from lookmatch.evaluation import FRAMINGS, can_be_framed, framed, portrait_cut, side_cut, wilson_interval
from lookmatch.images import load_image
from lookmatch.pipeline import classify, read_pose

REPORTED = ("head", "upper", "lower", "whole", "gender")
# Each cut: the picture it makes from a photo and its landmarks, and the regions it cannot hold.
CUTS = {name: (lambda rgb, landmarks, name=name: framed(rgb, landmarks, name), not_held)
        for name, (_, not_held) in FRAMINGS.items()}
CUTS |= {"side cut": (side_cut, frozenset()), "portrait": (portrait_cut, frozenset({"lower", "whole"}))}


def reported(rgb: np.ndarray) -> dict[str, str | bool | None]:
    """What an upload of this picture reports: person, a label per region, whether a head box."""
    pose = read_pose(rgb)
    reading = classify(rgb, pose)
    # A photo of the legs only (reading.legs_only) reports its lower garment alone: no head.
    out: dict[str, str | bool | None] = {"person": reading.person, "head": reading.person and not reading.legs_only
                                         and pose.boxes.get("head") is not None}
    for region in ("upper", "lower", "whole", "gender"):
        value = getattr(reading, region)
        out[region] = None if value is None else value.label
    return out


def share(seen: list[dict], key: str) -> float:
    """The share of `reported` results that report `key` (a person, a region)."""
    return sum(bool(got[key]) for got in seen) / len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=("test", "val"), help="which held-out ccp photos")
    parser.add_argument("--limit", type=int, help="only the first N photos")
    args = parser.parse_args()
    truths = datasets.load("ccp", args.split)[: args.limit]
    results: dict[str, list[tuple[datasets.Truth, dict]]] = {name: [] for name in CUTS}
    skipped = 0
    for truth in tqdm(truths, desc="photos", unit="photo"):
        rgb = load_image(truth.path)
        full = read_pose(rgb)
        if not can_be_framed(full):
            skipped += 1
            continue
        for name, (make, _) in CUTS.items():
            results[name].append((truth, reported(make(rgb, np.array(full.landmarks)))))

    used = len(truths) - skipped
    print(f"\nccp {args.split}: {used} photos cut ({skipped} left out: nobody, turned, or shoulders, hips "
          f"or knees not in frame in the full photo)")
    print("share of photos reporting each region; * = the cut does not hold it (should be 0%)")
    print(f"{'framing':12} {'person':>7} " + " ".join(f"{r:>9}" for r in REPORTED))
    for name, pairs in results.items():
        seen = [got for _, got in pairs]
        cells = [f"{share(seen, region):8.1%}" + ("*" if region in CUTS[name][1] else " ") for region in REPORTED]
        print(f"{name:12} {share(seen, 'person'):7.1%} " + " ".join(cells))
    print("\nregions reported that the cut does not hold: photos, share (95% interval)")
    for name, pairs in results.items():
        for region in sorted(CUTS[name][1]):
            wrong = sum(bool(got[region]) for _, got in pairs)
            lo, hi = wilson_interval(wrong, len(pairs))
            print(f"{name:12} {region:7} {wrong:4d} / {len(pairs)}  {wrong / len(pairs):6.1%} ({lo:.1%}-{hi:.1%})")
    print("\naccuracy of the labels read (photos with a label and a reading; by-eye labels)")
    for name, pairs in results.items():
        cells = []
        for region in ("upper", "lower", "whole", "gender"):
            if region in CUTS[name][1]:
                continue
            scored = [(truth.label(region), got[region]) for truth, got in pairs if truth.label(region) and got[region]]
            right = sum(t == g for t, g in scored)
            cells.append(f"{region} {right}/{len(scored)}" + (f" {right / len(scored):.1%}" if scored else ""))
        print(f"{name:12} " + "   ".join(cells))
    # Cut below the hips, a dress shows its skirt: a lower garment read there should be "skirt".
    for name in ("hips down", "thighs down"):
        read = [got["lower"] for truth, got in results[name] if truth.whole == "dress" and got["lower"]]
        print(f"{name:12} dresses read as a skirt: {read.count('skirt')}/{len(read)} "
              f"(of {sum(truth.whole == 'dress' for truth, _ in results[name])} dresses)")

    products = datasets.product_photos(args.split)[: args.limit]
    seen = [reported(load_image(path)) for path in tqdm(products, desc="product photos", unit="photo")]
    print(f"\nclothing {args.split}: {len(seen)} product photos, no one in them; share reporting")
    print(f"{'person':>7} " + " ".join(f"{r:>9}" for r in REPORTED))
    print(f"{share(seen, 'person'):7.1%} " + " ".join(f"{share(seen, r):9.1%}" for r in REPORTED))


if __name__ == "__main__":
    main()
