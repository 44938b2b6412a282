"""Ranking by look and colour against labels: does another photo of the same person come first?

    .venv/bin/python scripts/eval_ranking.py [--split val|test] [--model GARMENTS.tflite]

PETA shows one person, in the same clothes, in several photos: finding another photo of the same
person first is the street-to-shop aim (the item you wear, first), the nearest labelled stand-in
for it here. Each PETA photo of the split goes through the product's path (`pipeline.read_file`:
crops, garment model, embedding, colour from the body strips).
Per region (upper, lower, whole), a photo whose person has another photo with that region found
is a query; the gallery is the split's other photos with that region found and the same
predicted label (the recommender ranks only items of the predicted category). Each is scored
with the recommender's own `match_score` at every colour weight of WEIGHTS; a hit is a top-scored
gallery crop of the same person. Printed: recall@1 per region and pooled for each weight, and
each weight against the shipped COLOUR_WEIGHT, query by query (exact McNemar p).
~1 minute for the 290 val photos on 2 cores.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lookmatch import datasets
from lookmatch.evaluation import mcnemar_p, same_person_first
from lookmatch.garments import GarmentModel
from lookmatch.images import BadImage
from lookmatch.pipeline import read_file
from lookmatch.recommend import COLOUR_WEIGHT, colour_closeness, cosine, match_score

WEIGHTS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.30, 0.50, 1.0)
REGIONS = ("upper", "lower", "whole")


def read_photos(split: str, model: GarmentModel | None) -> list[tuple[str, dict]]:
    """(person, {region: (label, embedding, colour hex)}) for each PETA photo of the split
    (model None: the shipped garment model)."""
    photos = []
    for truth in tqdm(datasets.load("peta", split), desc=f"peta {split}", unit="photo"):
        try:
            reading = read_file(truth.path, model)
        except (BadImage, OSError):
            continue
        photos.append((truth.group, {region: (g.label, g.embedding, g.colour.hex) for region in REGIONS
                                     if (g := getattr(reading, region)) is not None}))
    return photos


def hits(photos: list[tuple[str, dict]], region: str, weight: float) -> list[bool]:
    """For each query of the region: is the top-scored gallery crop the same person's?"""
    rows = [(person, found[region]) for person, found in photos if region in found]
    similarity = np.full((len(rows), len(rows)), -np.inf)  # photos of another label are not ranked
    for i, (_, (label, embedding, colour)) in enumerate(rows):
        for j, (_, (other_label, other_embedding, other_colour)) in enumerate(rows):
            if j != i and other_label == label:
                similarity[i, j] = match_score(cosine(embedding, other_embedding),
                                               colour_closeness(colour, other_colour), weight)
    return same_person_first(similarity, [person for person, _ in rows]).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--model", help="a garment model file (default: the shipped one)")
    args = parser.parse_args()
    photos = read_photos(args.split, GarmentModel(str(Path(args.model).resolve())) if args.model else None)
    results = {w: {region: hits(photos, region, w) for region in REGIONS} for w in WEIGHTS}
    print(f"PETA {args.split}: {len(photos)} photos read. Recall@1, another photo of the same person first"
          f" (queries per region: " + ", ".join(f"{r} {len(results[0.0][r])}" for r in REGIONS) + ")")
    print("colour weight | " + " | ".join(REGIONS) + f" | pooled | against {COLOUR_WEIGHT} (only this / only that, p)")
    shipped = sum((results[COLOUR_WEIGHT][r] for r in REGIONS), [])
    for w, by_region in results.items():
        pooled = sum((by_region[r] for r in REGIONS), [])
        only_this = sum(a and not b for a, b in zip(pooled, shipped))
        only_that = sum(b and not a for a, b in zip(pooled, shipped))
        print(f"{w:13.2f} | " + " | ".join(f"{np.mean(by_region[r]):6.1%}" for r in REGIONS)
              + f" | {np.mean(pooled):6.1%} | {only_this} / {only_that}, p {mcnemar_p(only_this, only_that):.3f}")


if __name__ == "__main__":
    main()
