"""2x2 grids of ccp photos for by-eye labelling (training/labels/BRIEF.md): each tile lettered A-D
with the photo id; val and test photos first, then train, in a fixed shuffled order.
Writes OUT/grid_NNN.png and OUT/grids.csv (grid file, the four ids in order A B C D).
Run: .venv/bin/python training/labels/make_grids.py OUT_DIR
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import cv2
import numpy as np

from lookmatch import datasets
from lookmatch.config import data_dir

HEIGHT, WIDTH, GAP = 512, 360, 8


def tile(path: Path, caption: str) -> np.ndarray:
    img = cv2.imread(str(path))
    img = cv2.resize(img, (round(img.shape[1] * HEIGHT / img.shape[0]), HEIGHT))[:, :WIDTH]
    canvas = np.full((HEIGHT + 30, WIDTH, 3), 255, np.uint8)
    canvas[30:, :img.shape[1]] = img
    cv2.putText(canvas, caption, (5, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 200), 2)
    return canvas


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    split = datasets.read_split("ccp")
    ids = sorted(split, key=lambda k: (split[k] == "train", random.Random(k).random()))
    photos = data_dir() / "ccp" / "photos"
    rows = []
    for g in range(0, len(ids), 4):
        chunk = ids[g:g + 4]
        tiles = [tile(photos / f"{k}.jpg", f"{'ABCD'[n]}: {k}") for n, k in enumerate(chunk)]
        tiles += [np.full_like(tiles[0], 255)] * (4 - len(tiles))
        bar = np.zeros((HEIGHT + 30, GAP, 3), np.uint8)
        top, bottom = np.hstack([tiles[0], bar, tiles[1]]), np.hstack([tiles[2], bar, tiles[3]])
        name = f"grid_{g // 4:03d}.png"
        cv2.imwrite(str(out / name), np.vstack([top, np.zeros((GAP, top.shape[1], 3), np.uint8), bottom]))
        rows.append(f"{name},{' '.join(chunk)}")
    (out / "grids.csv").write_text("\n".join(rows) + "\n")
    print(f"{len(rows)} grids in {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
