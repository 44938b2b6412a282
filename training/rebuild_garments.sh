#!/usr/bin/env bash
# Rebuild the garment model from ../shared/data on this CPU machine (see training/README.md).
# Steps: split files (checked against the committed ones), the pose pipeline's crops, training +
# export (float reference and full int8), the upper-body check fitted on its embeddings,
# evaluation on the test split. Times each step.
# The shipped model (run 31 of the model card) is run 14's recipe refitted on train + val at seed 4,
# so there is no val step: BODY_SHRINK stays the value fitted for run 14 (fit_body_shrink.py reads
# val, which this model has trained on).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=.venv/bin/python        # runtime venv: lookmatch (pose pipeline, TFLite evaluation)
TRAIN=.venv-train/bin/python  # training venv: torch + litert-torch (training/requirements.txt)
step() { local t=$SECONDS; echo "== $*"; "$@"; echo "== $1 ${*:2}: $((SECONDS - t)) s"; }
step $RUN training/make_splits.py
git diff --quiet -- training/splits || { echo "split files changed: the rule or the data moved" >&2; exit 1; }
step $RUN training/cache_crops.py clothing ccp peta
step $TRAIN training/train_garments.py --with-val --seed 4
step $RUN training/fit_torso_check.py  # the upper-body check reads the new model's embeddings
step $RUN training/evaluate_model.py
echo "total: $SECONDS s"
