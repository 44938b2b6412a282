"""How often ccp's two garment label sources agree: labels read by eye from each photo
(training/labels/ccp_garments_by_eye.csv) against labels derived from ccp's tags and masks.

Two annotators who disagree on a photo cannot both be right, so agreement is a rough ceiling for
any model scored against either source. Per head and split, on the photos both sources label;
photos with masks ("pixel") and tags only ("image") apart, as the tag rules differ. Then the
by-eye labels against a second by-eye pass over the 555 val and test photos
(ccp_garments_by_eye_second_pass.csv; the same kind of annotator, so not an independent check).
Run: .venv/bin/python training/label_agreement.py [--split val,test]
"""
from __future__ import annotations

import argparse
import json
from collections import Counter

from lookmatch import datasets
from lookmatch.config import data_dir
from lookmatch.evaluation import wilson_interval

HEADS = ("upper", "lower", "whole")
SECOND_PASS = datasets.CCP_GARMENTS_BY_EYE.with_name("ccp_garments_by_eye_second_pass.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="val,test", help="comma-separated splits (default: val,test)")
    args = parser.parse_args()
    splits = args.split.split(",")
    eye = {t.key: t for t in datasets.load("ccp", ccp_source="eye") if t.split in splits}
    tags = {t.key: t for t in datasets.load("ccp", ccp_source="tags") if t.split in splits}
    kind = {k: v["source"] for k, v in json.loads((data_dir() / "ccp" / "labels.json").read_text())["images"].items()}
    print(f"ccp {'+'.join(splits)}: {len(eye)} photos")
    print(f"{'head':6} {'photos':7} {'agree':>6} {'of':>5} {'agreement':>9} {'95% interval':>13}  only tags / only eye")
    for head in HEADS:
        differ = Counter()
        for group in ("pixel", "image", "all"):
            keys = [k for k in eye if group in ("all", kind[k])]
            both = [k for k in keys if eye[k].label(head) and tags[k].label(head)]
            agree = sum(eye[k].label(head) == tags[k].label(head) for k in both)
            only_tags = sum(bool(tags[k].label(head)) and not eye[k].label(head) for k in keys)
            only_eye = sum(bool(eye[k].label(head)) and not tags[k].label(head) for k in keys)
            lo, hi = wilson_interval(agree, len(both))
            print(f"{head:6} {group:7} {agree:6d} {len(both):5d} {agree / len(both):9.1%} "
                  f"{100 * lo:6.1f}-{100 * hi:4.1f}%  {only_tags:4d} / {only_eye}")
            if group == "all":
                differ.update((tags[k].label(head), eye[k].label(head)) for k in both
                              if eye[k].label(head) != tags[k].label(head))
        print("       commonest disagreements (tags -> eye): "
              + ", ".join(f"{a} -> {b} {n}" for (a, b), n in differ.most_common(5)))
    second = {k: labels for k, labels in datasets.read_ccp_by_eye(SECOND_PASS).items() if k in eye}
    if not second:
        return
    print(f"\nby eye against the second by-eye pass ({len(second)} of these photos):")
    for head in HEADS:
        both = [k for k in second if eye[k].label(head) and second[k][head]]
        agree = sum(eye[k].label(head) == second[k][head] for k in both)
        lo, hi = wilson_interval(agree, len(both))
        print(f"{head:6} {agree:6d} {len(both):5d} {agree / len(both):9.1%} {100 * lo:6.1f}-{100 * hi:4.1f}%")


if __name__ == "__main__":
    main()
