#!/usr/bin/env bash
# Rebuild the garment model from ../shared/data on this CPU machine (see training/README.md).
# Steps: split files (checked against the committed ones), the pose pipeline's crops, training +
# export (float reference and full int8), evaluation on the test split, the body-gender
# shrink fit on val. Times each step.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=.venv/bin/python        # runtime venv: lookmatch (pose pipeline, TFLite evaluation)
TRAIN=.venv-train/bin/python  # training venv: torch + litert-torch (training/requirements.txt)
step() { local t=$SECONDS; echo "== $*"; "$@"; echo "== $1 ${*:2}: $((SECONDS - t)) s"; }
step $RUN training/make_splits.py
git diff --quiet -- training/splits || { echo "split files changed: the rule or the data moved" >&2; exit 1; }
step $RUN training/cache_crops.py clothing ccp peta
step $TRAIN training/train_garments.py
step $RUN training/evaluate_model.py
step $RUN training/fit_body_shrink.py  # copy the printed BODY_SHRINK into lookmatch/gender.py
echo "total: $SECONDS s"
