"""`lookmatch predict PATH... --out FILE.jsonl`: the contract of DESIGN.md, one line per photo.

Runs the same pose and classify code as the Lambdas, with no AWS at all. A file that cannot be
read gets a line with `"error"` and the run goes on; so does a file that meets a bug (its line
says "unexpected error", and the traceback goes to stderr), so one photo never costs the others.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from tqdm import tqdm

from ..contract import Prediction

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("predict", help="read photos of people; write one JSON line per photo")
    parser.add_argument("paths", nargs="+", type=Path, help="image files or folders (searched recursively)")
    parser.add_argument("--out", type=Path, required=True, help="the JSONL file to write ('-' for stdout)")
    parser.set_defaults(func=run)


def expand(paths: list[Path]) -> list[Path]:
    """Files as given (whatever their suffix: a bad one gets an error line); folders' images, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            files.append(path)
    return files


def run(args: argparse.Namespace) -> int:
    from ..pipeline import predict_file  # imported here: loads the models

    files = expand(args.paths)
    if not files:
        print("lookmatch predict: no images found in the given paths", file=sys.stderr)
        return 2
    out = sys.stdout if str(args.out) == "-" else args.out.open("w", encoding="utf-8")
    failed = 0
    try:
        for path in tqdm(files, desc="predict", unit="photo", file=sys.stderr):
            try:
                prediction = predict_file(path)
            except Exception as error:  # noqa: BLE001 - a bug, not a bad photo: record it, read the next
                tqdm.write(f"{path}: {traceback.format_exc()}", file=sys.stderr)
                prediction = Prediction(image=str(path), error=f"unexpected error: {type(error).__name__}: {error}")
            failed += prediction.error is not None
            out.write(prediction.to_json_line() + "\n")
            out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    print(f"{len(files)} photos, {failed} could not be read; predictions in {args.out}", file=sys.stderr)
    return 0
