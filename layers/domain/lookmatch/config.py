"""Where things are, read once from the environment."""
from __future__ import annotations

import os
from pathlib import Path

# Repository root when the package runs from a checkout (editable install, tests, CLI).
REPO_ROOT = Path(__file__).resolve().parents[3]


def model_dir() -> Path:
    """Folder holding the .tflite files.

    LOOKMATCH_MODEL_DIR wins; in Lambda the models layer is mounted at /opt/models; from a
    checkout they live in layers/models (trained ones committed, third-party ones fetched
    by `python scripts/fetch_models.py`).
    """
    if env := os.environ.get("LOOKMATCH_MODEL_DIR"):
        return Path(env)
    if Path("/opt/models").is_dir():
        return Path("/opt/models")
    return REPO_ROOT / "layers" / "models"


def data_dir() -> Path:
    """The shared labelled data (training and evaluation only), ../shared/data by default."""
    return Path(os.environ.get("LOOKMATCH_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
