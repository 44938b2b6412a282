"""Shared fixtures: keep this small (each helper may append theirs)."""
from pathlib import Path

import pytest

from lookmatch.config import REPO_ROOT, data_dir

SAMPLE_PHOTOS = sorted((REPO_ROOT / "samples" / "photos").glob("*.jpg"))


def pytest_collection_modifyitems(config, items):
    """Tests marked needs_data read ../shared/data: skipped where it is absent."""
    if (data_dir() / "ccp" / "labels.json").is_file():
        return
    for item in items:
        if "needs_data" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="../shared/data absent"))


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


@pytest.fixture(scope="session")
def create_table_from_template():
    """create(logical_id, name): a DynamoDB table with the keys and indexes infra/template.yaml gives it."""
    import boto3

    from lookmatch.local_stack import load_template

    resources = load_template()["Resources"]

    def create(logical_id: str, name: str) -> None:
        props = resources[logical_id]["Properties"]
        keys = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")
        boto3.client("dynamodb").create_table(TableName=name, **{k: props[k] for k in keys if k in props})

    return create


@pytest.fixture(scope="session")
def far_away():
    """scripts/benchmark.far_away: a BGR photo put at a third of a 4:3 landscape picture's
    height, the person as if shot from across the street."""
    import sys

    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from benchmark import far_away

    return far_away
