"""The dominant colour of a garment crop: a name from a small palette and the measured hex.

How: keep the part of the crop where the garment is (by default its centre: garment crops from the
pose boxes have background and arms at their edges; the pipeline passes strips along the body,
regions.colour_part), drop skin-coloured pixels (YCrCb range) unless
they are most of what is left (a beige or khaki garment), cluster the rest in CIELAB with k-means
(k=3) and take the largest cluster's per-channel median. Lab makes the clustering follow
perceived colour; the median keeps shadows and prints from dragging the result. The name is the
nearest palette colour in Lab (CIE76, `palette_name`).
"""
from __future__ import annotations

import cv2
import numpy as np

from .contract import Colour

# The part of the crop read by default, as margins cut off each side (fractions of the width /
# height: left, top, right, bottom): the centre half of the width and 60% of the height.
CENTRE = (0.25, 0.2, 0.25, 0.2)
# Skin-coloured pixels are dropped when they are at most this share of the part read; above it
# they are taken to be the garment (beige, khaki, tan fall in the skin range). At 0.7, khaki
# trousers with the ground between the legs read as the ground (scripts/eval_colour.py).
SKIN_MAX_SHARE = 0.5
MAX_PIXELS = 4000
K = 3

PALETTE = {
    "black": "#1a1a1a", "white": "#f4f4f2", "cream": "#eee3c8", "light grey": "#c4c4c4",
    "grey": "#8c8c8c", "dark grey": "#4a4a4d", "navy": "#1f2a4d", "blue": "#2f5fb3",
    "light blue": "#9cc3e6", "teal": "#2a7f7f", "mint": "#b8dccb", "green": "#3b8a3e",
    "olive": "#6b6b34", "khaki": "#a89a6a", "beige": "#d9c5a0", "brown": "#6b4630",
    "red": "#c0282d", "burgundy": "#6d1f2c", "pink": "#eea5bd", "rose": "#bf918d",
    "orange": "#e8812d", "yellow": "#ecd13f", "purple": "#6c3d8f",
}


def _lab(rgb_uint8: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 RGB -> (N, 3) float32 CIELAB (L 0..100)."""
    px = (rgb_uint8.reshape(-1, 1, 3).astype(np.float32)) / 255.0
    return cv2.cvtColor(px, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def hex_to_lab(*values: str) -> np.ndarray:
    """"#rrggbb" colours -> (N, 3) CIELAB."""
    return _lab(np.array([[int(v[i:i + 2], 16) for i in (1, 3, 5)] for v in values], np.uint8))


_PALETTE_NAMES = list(PALETTE)
_PALETTE_LAB = hex_to_lab(*PALETTE.values())


def palette_name(hex_colour: str) -> str:
    """The palette colour nearest to "#rrggbb" in CIELAB."""
    return _PALETTE_NAMES[int(np.linalg.norm(_PALETTE_LAB - hex_to_lab(hex_colour)[0], axis=1).argmin())]


def _skin(rgb: np.ndarray) -> np.ndarray:
    """Boolean mask of skin-like pixels (a classic YCrCb box, all skin tones)."""
    ycrcb = cv2.cvtColor(rgb.reshape(-1, 1, 3), cv2.COLOR_RGB2YCrCb).reshape(-1, 3)
    cr, cb = ycrcb[:, 1], ycrcb[:, 2]
    return (cr >= 135) & (cr <= 173) & (cb >= 77) & (cb <= 127)


def margins_part(shape: tuple[int, ...], margins: tuple[float, float, float, float] = CENTRE) -> np.ndarray:
    """Boolean (H, W) mask of an image of `shape` inside `margins` (see CENTRE); never empty."""
    h, w = shape[:2]
    left, top, right, bottom = margins
    part = np.zeros((h, w), bool)
    part[int(h * top):h - int(h * bottom) or h, int(w * left):w - int(w * right) or w] = True
    return part


def dominant_colour(rgb: np.ndarray, part: np.ndarray | None = None) -> Colour:
    """Dominant colour of an RGB uint8 crop (H, W, 3), read where the boolean (H, W) mask `part`
    is true (default: margins_part, the centre)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
    if part is None:
        part = margins_part(rgb.shape)
    if part.shape != rgb.shape[:2] or not part.any():
        raise ValueError(f"the part read must be a non-empty (H, W) mask of the image, got {part.shape} "
                         f"with {int(part.sum())} pixels for an image of {rgb.shape[:2]}")
    pixels = rgb[part].astype(np.uint8)
    if len(pixels) > MAX_PIXELS:  # a fixed stride: deterministic and enough for 3 clusters
        pixels = pixels[:: len(pixels) // MAX_PIXELS + 1]
    skin = _skin(pixels)
    if skin.sum() <= SKIN_MAX_SHARE * len(pixels):
        pixels = pixels[~skin]
    lab = _lab(pixels)
    if len(lab) >= K * 4:
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        cv2.setRNGSeed(0)
        _, labels, _ = cv2.kmeans(lab, K, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
        labels = labels.ravel()
        biggest = np.bincount(labels, minlength=K).argmax()
        members = pixels[labels == biggest]
    else:
        members = pixels
    hex_colour = "#{:02x}{:02x}{:02x}".format(*np.median(members, axis=0).round().astype(np.uint8))
    return Colour(name=palette_name(hex_colour), hex=hex_colour)
