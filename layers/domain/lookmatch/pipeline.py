"""The stages shared by the Lambdas and the command line.

`read_pose` (the Pose stage): an RGB photo -> `PoseReading`, which round-trips through JSON (the
Pose Lambda writes it to S3 next to the photo, Classify reads it back).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from pydantic import BaseModel

from .pose import PoseEstimator
from .regions import REGIONS, Box, body_regions, landmark_box, main_person


class PoseReading(BaseModel):
    """What the Pose stage saw in one photo.

    person: somebody was found. people_count: how many distinct people the landmark model
    confirmed (at most PoseEstimator.max_people are examined). boxes: head / upper / lower /
    whole / feet of the main person in pixels (None when that part is not in the picture).
    landmarks: the main person's 33 BlazePose landmarks as [x, y, visibility, presence] in image
    pixels. score: the pose detector's confidence for the main person (0 when nobody).
    """

    person: bool
    people_count: int
    width: int
    height: int
    boxes: dict[str, Box | None]
    landmarks: list[list[float]]
    score: float


@lru_cache(maxsize=1)
def pose_estimator() -> PoseEstimator:
    """One estimator per process (models load once; in Lambda, at import of the handler)."""
    return PoseEstimator()


def read_pose(rgb: np.ndarray) -> PoseReading:
    """Find the people in an (H, W, 3) uint8 RGB photo and box the main person's body parts.

    The main person is the one with the largest landmark box weighted by centrality
    (regions.main_person).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or rgb.size == 0:
        raise ValueError(f"read_pose needs an (H, W, 3) uint8 RGB array (images.decode_image gives "
                         f"one), got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    people = pose_estimator().detect(rgb)
    bodies = [landmark_box(p.landmarks, width, height) for p in people]
    main = main_person(bodies, width, height)
    if main is None:
        return PoseReading(person=False, people_count=0, width=width, height=height,
                           boxes=dict.fromkeys(REGIONS), landmarks=[], score=0.0)
    chosen = people[main]
    lm = chosen.landmarks[:, [0, 1, 3, 4]]  # x, y, visibility, presence
    return PoseReading(
        person=True,
        people_count=sum(b is not None for b in bodies),
        width=width,
        height=height,
        boxes=body_regions(lm, width, height),
        landmarks=[[round(float(v), 2) if i < 2 else round(float(v), 4) for i, v in enumerate(row)]
                   for row in lm],
        score=round(chosen.score, 4),
    )
