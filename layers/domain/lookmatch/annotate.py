"""The annotated picture shown to the user: skeleton, region boxes, their names and labels."""
from __future__ import annotations

import cv2
import numpy as np

from .pipeline import PoseReading, upright
from .pose import CONNECTIONS, IN_FRAME

COLOURS = {  # RGB
    "head": (255, 200, 0),
    "upper": (255, 60, 60),
    "lower": (60, 120, 255),
    "whole": (255, 255, 255),
    "feet": (200, 0, 255),
}
SKELETON = (0, 230, 0)


def annotate(rgb: np.ndarray, pose_reading: PoseReading, labels: dict[str, str] | None = None) -> np.ndarray:
    """A copy of the photo with the main person's skeleton and boxes; `labels` (region -> text,
    e.g. {"upper": "outerwear 0.81"}) are written next to the region names. The copy is turned
    as the pose was read (pipeline.upright)."""
    img = upright(rgb, pose_reading.turns).copy()  # C-contiguous, as cv2 drawing needs
    labels = labels or {}
    h, w = img.shape[:2]
    thick = max(1, round(max(h, w) / 400))
    font_scale = max(0.4, max(h, w) / 1200)

    lm = np.asarray(pose_reading.landmarks, dtype=np.float64).reshape(-1, 4)
    if len(lm):
        shown = lm[:, 3] >= IN_FRAME
        pts = np.round(lm[:, :2]).astype(int)
        for a, b in CONNECTIONS:
            if shown[a] and shown[b]:
                cv2.line(img, tuple(pts[a]), tuple(pts[b]), SKELETON, thick, cv2.LINE_AA)
        for i in np.nonzero(shown)[0]:
            cv2.circle(img, tuple(pts[i]), thick + 1, SKELETON, -1, cv2.LINE_AA)

    # Whole first so that the smaller boxes and their names are drawn over it.
    for name in ("whole", "feet", "lower", "upper", "head"):
        box = pose_reading.boxes.get(name)
        if box is None:
            continue
        colour = COLOURS[name]
        cv2.rectangle(img, (box.x0, box.y0), (box.x1 - 1, box.y1 - 1), colour, thick)
        text = f"{name}: {labels[name]}" if name in labels else name
        if name == "whole":  # its top is the head's: name it at the bottom instead
            _label(img, text, box.x0, box.y1, colour, font_scale, thick, below=False)
        else:
            _label(img, text, box.x0, box.y0, colour, font_scale, thick)

    if not pose_reading.person:
        _label(img, "no person found", 0, 0, (255, 255, 255), font_scale, thick)
    if "gender" in labels:
        _label(img, f"gender: {labels['gender']}", 0, 0, (255, 255, 255), font_scale, thick)
    return img


def _label(img: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int],
           scale: float, thick: int, below: bool = True) -> None:
    """Text on a dark band at (x, y): inside the box's top edge, kept within the picture."""
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    h, w = img.shape[:2]
    x = int(min(max(x, 0), max(w - tw - 4, 0)))
    top = int(min(max(y if below else y - th - base - 4, 0), max(h - th - base - 4, 0)))
    cv2.rectangle(img, (x, top), (x + tw + 4, top + th + base + 4), (0, 0, 0), -1)
    cv2.putText(img, text, (x + 2, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)
