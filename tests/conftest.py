"""Shared fixtures: keep this small (each helper may append theirs)."""
from pathlib import Path

import pytest

from lookmatch.config import REPO_ROOT

SAMPLE_PHOTOS = sorted((REPO_ROOT / "samples" / "photos").glob("*.jpg"))


@pytest.fixture(scope="session")
def sample_photos() -> list[Path]:
    """The committed ccp sample photos (full-body, one person each, all facing the camera)."""
    assert SAMPLE_PHOTOS, "samples/photos/*.jpg are missing"
    return SAMPLE_PHOTOS


@pytest.fixture(scope="session")
def sample_readings(sample_photos):
    """(path, rgb, PoseReading) for every sample photo, from the real BlazePose models."""
    from lookmatch.images import load_image
    from lookmatch.pipeline import read_pose

    out = []
    for path in sample_photos:
        rgb = load_image(path)
        out.append((path, rgb, read_pose(rgb)))
    return out
