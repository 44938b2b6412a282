"""`lookmatch run PHOTO [--json]`: one photo through the whole stack, on this machine.

Starts the embedded local stack (lookmatch.local_stack: moto on loopback, built from
infra/template.yaml), imports the demo catalog, uploads the photo under uploads/, lets
S3 -> EventBridge -> Step Functions run the real handlers, waits and prints the Results record.
With --json stdout carries exactly that record as one JSON document; everything else (logs,
progress) goes to stderr.
"""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from ..config import REPO_ROOT

DEFAULT_CATALOG = REPO_ROOT / "samples" / "catalog" / "catalog.csv"


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="one photo through the embedded local stack (S3 -> Step Functions -> "
                                          "Lambdas -> DynamoDB), printing the recommendations")
    p.add_argument("photo", type=Path, help="a JPEG, PNG or WebP photo of a person")
    p.add_argument("--json", action="store_true", help="print the Results record as one JSON document")
    add_catalog_arguments(p)
    p.add_argument("--out", type=Path, default=Path("out"), help="folder for the annotated picture (default: out/)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the workflow")
    p.set_defaults(func=run)


def add_catalog_arguments(p) -> None:
    p.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG,
                   help="inventory CSV imported at start (default: the demo catalog)")
    p.add_argument("--images", type=Path, help="the catalog's images folder (default: images/ beside it)")


@contextmanager
def stdout_to_stderr():
    """While the stack runs, anything written to stdout (Powertools logs and metrics of the
    in-process handlers, moto) goes to stderr; yields a stream on the real stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    real = os.fdopen(os.dup(saved), "w")
    try:
        yield real
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        real.flush()
        real.close()


def start_stack_with_catalog(args):
    """The started LocalStack with the catalog imported (caller stops it)."""
    from ..local_stack import LocalStack, log

    catalog, images = args.catalog, args.images or args.catalog.parent / "images"
    if not catalog.is_file():
        raise SystemExit(f"catalog {catalog} not found (the demo catalog is samples/catalog/catalog.csv)")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    stack = LocalStack()
    stack.start()
    try:
        started = time.monotonic()
        count = stack.import_catalog(catalog, images)
        log(f"{count} inventory items imported in {time.monotonic() - started:.1f} s")
    except BaseException:
        stack.stop()
        raise
    return stack


def run(args) -> int:
    from ..local_stack import CONTENT_TYPES

    photo: Path = args.photo
    if not photo.is_file():
        print(f"lookmatch run: {photo}: no such file", file=sys.stderr)
        return 2
    if photo.suffix.lower() not in CONTENT_TYPES:
        print(f"lookmatch run: {photo}: expected a {', '.join(CONTENT_TYPES)} file", file=sys.stderr)
        return 2
    started = time.monotonic()
    with stdout_to_stderr() as out:
        try:
            record, annotated = _run_photo(args, photo, started)
        except (RuntimeError, ValueError, TimeoutError) as error:  # ModelMissing, CatalogError, ...
            print(f"lookmatch run: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
        if args.json:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(summary(photo, record, annotated))
    return 1 if record.get("status") == "FAILED" else 0


def _run_photo(args, photo: Path, started: float) -> tuple[dict, Path | None]:
    from ..local_stack import log

    stack = start_stack_with_catalog(args)
    try:
        photo_id = stack.upload(photo)
        log(f"uploaded {photo} as photo {photo_id}; waiting for the workflow")
        record = stack.wait(photo_id, timeout=args.timeout)
        annotated = None
        if record.get("annotated_key"):
            args.out.mkdir(parents=True, exist_ok=True)
            annotated = args.out / f"{photo_id}-annotated.jpg"
            annotated.write_bytes(stack.get_bytes(record["annotated_key"]))
    finally:
        stack.stop()
    log(f"done in {time.monotonic() - started:.1f} s")
    return record, annotated


def summary(photo: Path, record: dict, annotated: Path | None) -> str:
    lines = [f"Photo      {photo} (photo id {record['photo_id']})",
             f"Status     {record['status']}: {record.get('message', '')}"]
    pred = record.get("predictions") or {}
    if pred.get("person"):
        people = record.get("people_count", 1)
        lines.append(f"People     {people} in the photo (the main one is read)")
        colours = record.get("colours") or {}
        for region in ("gender", "upper", "lower", "whole"):
            value = pred.get(region)
            text = "not in the picture" if value is None else f"{value['label']} ({value['score']:.2f})"
            if region in colours:
                text += f", colour {colours[region]['name']} {colours[region]['hex']}"
            lines.append(f"{region.capitalize():<11}{text}")
    recs = record.get("recommendations") or {}
    if any(recs.values()):
        lines.append("Recommended")
        for region, items in recs.items():
            for item in items:
                lines.append(f"  {region:<6} {item['sku']:<14} {item['name'][:40]:<40} "
                             f"{item['price']:>7.2f} {item['currency']}  score {item['score']:.3f}")
    if annotated is not None:
        lines.append(f"Annotated  {annotated}")
    return "\n".join(lines) + "\n"
