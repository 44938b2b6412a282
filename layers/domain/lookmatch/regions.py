"""Boxes for the head, upper body, lower body, whole body and feet, from BlazePose landmarks.

Pure geometry (no models). Rules:
- A landmark counts when it is in view (`pose.in_view`: in frame, or a body point beside the
  picture whose partner on the other side of the body is in frame, as a shoulder cut off at the
  side of a photo framed tight); boxes are clipped to the picture. Occluded points (low
  visibility, e.g. a wrist behind a coat) still count: their position is good.
- Margins are proportional to the body's size unit: the torso length (mid-shoulder to mid-hip),
  or 1.5 x the shoulder width when the hips are out of frame.
- head needs >= 3 face/ear points; upper needs both shoulders; lower needs both hips and a knee,
  or, with the knees out of frame, at least half a torso length of picture below the hips (a
  thigh-length view still shows the garment; a sliver of waistband does not and gives None);
  whole needs an upper body (its garment is read only with both hips in frame: `hips_in_frame`);
  feet need an ankle, heel or toe point.
"""
from __future__ import annotations

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict

from . import pose as P

REGIONS = ("head", "upper", "lower", "whole", "feet")

HEAD_POINTS = list(range(0, 11))
FOOT_POINTS = [P.LEFT_ANKLE, P.RIGHT_ANKLE, P.LEFT_HEEL, P.RIGHT_HEEL, P.LEFT_FOOT, P.RIGHT_FOOT]


class Box(BaseModel):
    """Integer pixel box [x0, x1) x [y0, y1), clipped to its image."""

    model_config = ConfigDict(frozen=True)
    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def crop(self, img: np.ndarray) -> np.ndarray:
        return img[self.y0:self.y1, self.x0:self.x1]

    def scaled(self, sx: float, sy: float, width: int, height: int) -> "Box | None":
        """The same region in a resized copy of its image, `width` x `height` pixels."""
        return Box.clipped(self.x0 * sx, self.y0 * sy, self.x1 * sx, self.y1 * sy, width, height)

    @classmethod
    def clipped(cls, x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> "Box | None":
        """Round outwards, clip to the image; None when nothing of it is left inside."""
        bx0 = int(np.clip(np.floor(x0), 0, width))
        by0 = int(np.clip(np.floor(y0), 0, height))
        bx1 = int(np.clip(np.ceil(x1), 0, width))
        by1 = int(np.clip(np.ceil(y1), 0, height))
        if bx1 <= bx0 or by1 <= by0:
            return None
        return cls(x0=bx0, y0=by0, x1=bx1, y1=by1)


def hips_in_frame(landmarks: np.ndarray, height: int) -> bool:
    """Do both hips lie level with the picture (in it, or beside it when the photo is cut at the
    side)? Without them a whole-body garment (a dress against a top and a skirt) cannot be told:
    the picture stops above the waist. Only where the points lie counts: near the picture's bottom
    edge the landmark model's presence score for hips that are there drops to 0.0-0.6, while on a
    photo cut at the chest it places them below the edge."""
    return bool(P.within_height(landmarks, height)[P.HIPS].all())


def body_unit(landmarks: np.ndarray, ok: np.ndarray) -> float | None:
    """The body's size unit in pixels (torso length, or 1.5 x shoulder width), None if unknown."""
    xy = np.asarray(landmarks, dtype=np.float64)[:, :2]
    shoulders, hips = P.SHOULDERS, P.HIPS
    if ok[shoulders].all() and ok[hips].all():
        torso = float(np.linalg.norm(xy[shoulders].mean(0) - xy[hips].mean(0)))
        width = float(np.linalg.norm(xy[shoulders[0]] - xy[shoulders[1]]))
        return max(torso, 1.0 * width, 1.0)  # a bent-over torso looks short: the width floors it
    if ok[shoulders].all():
        return max(1.5 * float(np.linalg.norm(xy[shoulders[0]] - xy[shoulders[1]])), 1.0)
    return None


# Quarter turns (np.rot90, counterclockwise) that bring a body whose head points right, down or
# left in the picture back to upright (head up).
TURNS_FOR_HEAD = {"up": 0, "right": 1, "down": 2, "left": 3}


def upright_turns(landmarks: np.ndarray, width: int, height: int) -> int:
    """How many quarter turns counterclockwise (np.rot90's k) would stand the person upright: the
    direction from mid-hip to mid-shoulder, to the nearest quarter. 0 when upright or when a
    shoulder or hip is not in frame (nothing to go by)."""
    ok = P.in_frame(landmarks, width, height)
    shoulders, hips = P.SHOULDERS, P.HIPS
    if not (ok[shoulders].all() and ok[hips].all()):
        return 0
    xy = np.asarray(landmarks, dtype=np.float64)[:, :2]
    dx, dy = xy[shoulders].mean(0) - xy[hips].mean(0)  # image y grows downwards
    if abs(dy) >= abs(dx):
        return TURNS_FOR_HEAD["up" if dy <= 0 else "down"]
    return TURNS_FOR_HEAD["right" if dx > 0 else "left"]


def body_regions(landmarks: np.ndarray, width: int, height: int) -> dict[str, Box | None]:
    """Boxes for head / upper / lower / whole / feet (None when that part is not in the picture)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    xy = lm[:, :2]
    ok = P.in_view(lm, width, height)
    out: dict[str, Box | None] = dict.fromkeys(REGIONS)
    s = body_unit(lm, ok)
    if s is None:
        # No shoulders: only a head can be boxed, sized by the face points themselves.
        pts = xy[[i for i in HEAD_POINTS if ok[i]]]
        if len(pts) >= 3:
            span = float(np.ptp(pts[:, 0]))
            out["head"] = _head_box(pts, max(span * 2.2, 1.0), width, height)
        return out

    def box_of(idx: list[int], left: float, top: float, right: float, bottom: float) -> Box | None:
        pts = xy[[i for i in idx if ok[i]]]
        if len(pts) == 0:
            return None
        return Box.clipped(pts[:, 0].min() - left * s, pts[:, 1].min() - top * s,
                           pts[:, 0].max() + right * s, pts[:, 1].max() + bottom * s, width, height)

    head_pts = xy[[i for i in HEAD_POINTS if ok[i]]]
    if len(head_pts) >= 3:
        out["head"] = _head_box(head_pts, s, width, height)

    shoulders, hips, knees = P.SHOULDERS, P.HIPS, P.KNEES
    ankles = [P.LEFT_ANKLE, P.RIGHT_ANKLE]
    if ok[shoulders].all():
        arms = [P.LEFT_ELBOW, P.RIGHT_ELBOW]
        upper = box_of(shoulders + arms + hips, 0.18, 0.18, 0.18, 0.15)
        if upper is not None and not ok[hips].all():
            # Hips out of frame: the top runs to about a torso length below the shoulders.
            bottom = xy[shoulders, 1].max() + 1.1 * s
            upper = Box.clipped(upper.x0, upper.y0, upper.x1, bottom, width, height)
        out["upper"] = upper

    if ok[hips].all():
        hip_bottom = xy[hips, 1].max()
        if ok[knees].any():
            out["lower"] = box_of(hips + knees + ankles, 0.25, 0.15, 0.25, 0.08)
            if not ok[ankles].any():
                # Ankles out of frame: the garment runs on below the knees, to the picture's edge.
                knee_y = xy[[k for k in knees if ok[k]], 1].max()
                if (lo := out["lower"]) is not None:
                    out["lower"] = Box.clipped(lo.x0, lo.y0, lo.x1, knee_y + 0.6 * s, width, height)
        elif height - hip_bottom >= 0.5 * s:  # knees out of frame: from the hips to the picture's edge
            hip_x = xy[hips, 0]
            out["lower"] = Box.clipped(hip_x.min() - 0.3 * s, xy[hips, 1].min() - 0.15 * s,
                                       hip_x.max() + 0.3 * s, height, width, height)

    feet = box_of(FOOT_POINTS, 0.12, 0.12, 0.12, 0.1)
    out["feet"] = feet

    if out["upper"] is not None:
        parts = [b for b in out.values() if b is not None]
        every = box_of(list(range(P.NUM_LANDMARKS)), 0.1, 0.1, 0.1, 0.05)
        parts.append(every)
        out["whole"] = Box(x0=min(b.x0 for b in parts), y0=min(b.y0 for b in parts),
                           x1=max(b.x1 for b in parts), y1=max(b.y1 for b in parts))
    return out


def _head_box(pts: np.ndarray, s: float, width: int, height: int) -> Box | None:
    """Face points -> a box holding hair and chin: about 0.5 unit wide and 0.6 tall."""
    cx = float(pts[:, 0].mean())
    half_w = max(float(np.ptp(pts[:, 0])) * 0.75, 0.25 * s)
    top = float(pts[:, 1].min()) - 0.3 * s
    bottom = float(pts[:, 1].max()) + 0.18 * s
    return Box.clipped(cx - half_w, top, cx + half_w, bottom, width, height)


def landmark_box(landmarks: np.ndarray, width: int, height: int) -> Box | None:
    """The tight box of a person's in-frame landmarks (for choosing the main person)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    ok = P.in_frame(lm, width, height)
    if not ok.any():
        return None
    pts = lm[ok, :2]
    return Box.clipped(pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max(), width, height)


def main_person(bodies: list[Box | None], width: int, height: int) -> int | None:
    """Index of the main person: the largest body box, weighted by how central it is.

    score = area x (1 - 0.5 d), d = distance from the box centre to the image centre divided by
    the half-diagonal (0 at the centre, 1 in a corner): a large person at the edge still beats a
    small one in the middle, but of two similar sizes the central one wins.
    """
    best, best_score = None, -1.0
    half_diag = float(np.hypot(width, height)) / 2
    for i, box in enumerate(bodies):
        if box is None:
            continue
        cx, cy = box.center
        d = min(float(np.hypot(cx - width / 2, cy - height / 2)) / half_diag, 1.0)
        score = box.area * (1 - 0.5 * d)
        if score > best_score:
            best, best_score = i, score
    return best


# Where a garment's colour is read in its crop: strips along the body, COLOUR_STRIP body units
# wide, each from the first to the second fraction of the way from one point to the other.
# Chosen on ccp train + val photos with masks against a fixed centre (scripts/eval_colour.py): the
# centre of an upper crop shows the shirt under an open jacket while the label names the jacket,
# and the centre of a lower crop shows the ground between the legs or the hem of a long coat.
COLOUR_STRIP = 0.2
TORSO_SIDES = [(P.LEFT_SHOULDER, P.LEFT_HIP, 0.1, 0.75), (P.RIGHT_SHOULDER, P.RIGHT_HIP, 0.1, 0.75)]
TORSO_INWARD = 0.2  # the sides are moved this share of the shoulder / hip width inwards: off the edge
UPPER_ARMS = [(P.LEFT_SHOULDER, P.LEFT_ELBOW, 0.1, 0.9), (P.RIGHT_SHOULDER, P.RIGHT_ELBOW, 0.1, 0.9)]
LEGS = [(P.LEFT_HIP, P.LEFT_KNEE, 0.05, 0.95), (P.LEFT_KNEE, P.LEFT_ANKLE, 0.05, 0.95),
        (P.RIGHT_HIP, P.RIGHT_KNEE, 0.05, 0.95), (P.RIGHT_KNEE, P.RIGHT_ANKLE, 0.05, 0.95)]


def colour_part(landmarks: np.ndarray, width: int, height: int, box: Box, region: str) -> np.ndarray | None:
    """Boolean mask, in `box`'s crop, of where the `region` garment's colour is read ("upper": the
    torso's sides and the upper arms; "lower": thighs and shins), or None when the points it needs
    are not in frame (both shoulders and hips for "upper", a hip and its knee for "lower") or the
    region has no strips: the caller then reads the crop's centre. landmarks: as body_regions'."""
    lm = np.asarray(landmarks, dtype=np.float64)
    ok = P.in_frame(lm, width, height)
    s = body_unit(lm, ok)
    if s is None or region not in ("upper", "lower"):
        return None
    xy = lm[:, :2] - (box.x0, box.y0)  # in the crop
    if region == "upper":
        if not ok[P.SHOULDERS + P.HIPS].all():
            return None
        inward = xy.copy()
        for a, b in ((P.LEFT_SHOULDER, P.RIGHT_SHOULDER), (P.LEFT_HIP, P.RIGHT_HIP)):
            step = TORSO_INWARD * (xy[b] - xy[a])
            inward[a], inward[b] = xy[a] + step, xy[b] - step
        lines = [(inward, TORSO_SIDES), (xy, UPPER_ARMS)]
    else:
        if not any(ok[hip] and ok[knee] for hip, knee, _, _ in LEGS[::2]):
            return None
        lines = [(xy, LEGS)]
    part = np.zeros((box.height, box.width), np.uint8)
    thickness = max(1, round(COLOUR_STRIP * s))
    for points, strips in lines:
        for a, b, start, end in strips:
            if ok[a] and ok[b]:
                p0, p1 = (np.round(points[a] + f * (points[b] - points[a])).astype(int) for f in (start, end))
                cv2.line(part, tuple(map(int, p0)), tuple(map(int, p1)), 1, thickness)
    return part.astype(bool) if part.any() else None
