"""`lookmatch inventory import CATALOG.csv --images DIR`: load the retailer's catalog into the stack.

Talks to whatever the standard AWS environment points at: real AWS, or the local stack
(`AWS_ENDPOINT_URL=http://127.0.0.1:PORT`). The table and bucket come from `--table` / `--bucket`
or the functions' variables INVENTORY_TABLE / UPLOADS_BUCKET. The CSV format is documented in
lookmatch/inventory.py; a bad catalog is refused whole, every bad line named.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("inventory", help="manage the inventory of recommendable items")
    actions = parser.add_subparsers(dest="action", required=True)
    imp = actions.add_parser("import", help="validate a catalog CSV, embed its photos, write items and images")
    imp.add_argument("catalog", type=Path, help="the catalog CSV (see lookmatch/inventory.py)")
    imp.add_argument("--images", type=Path, required=True, help="folder the CSV's image paths are relative to")
    imp.add_argument("--table", default=os.environ.get("INVENTORY_TABLE"),
                     help="Inventory table name (default: $INVENTORY_TABLE)")
    imp.add_argument("--bucket", default=os.environ.get("UPLOADS_BUCKET"),
                     help="bucket for the item photos (default: $UPLOADS_BUCKET)")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    imp.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    if not args.table or not args.bucket:
        print("lookmatch inventory import: give --table and --bucket (or set INVENTORY_TABLE and "
              "UPLOADS_BUCKET; the stack's outputs name them)", file=sys.stderr)
        return 2
    from ..inventory import CatalogError, import_catalog, read_catalog

    try:
        read_catalog(args.catalog, args.images)  # refuse a bad catalog before loading the model
    except CatalogError as exc:
        print(f"lookmatch inventory import: {exc}", file=sys.stderr)
        return 2

    from ..aws import InventoryTable, S3Store
    from ..garments import GarmentModel

    try:
        items = import_catalog(args.catalog, args.images, GarmentModel(), InventoryTable(args.table),
                               S3Store(args.bucket), progress=not args.no_progress)
    except CatalogError as exc:
        print(f"lookmatch inventory import: {exc}", file=sys.stderr)
        return 2
    by_category = Counter(item.category for item in items)
    in_stock = sum(item.stock > 0 for item in items)
    print(f"imported {len(items)} items ({in_stock} in stock) into {args.table}, photos in "
          f"s3://{args.bucket}/inventory/: " + ", ".join(f"{c} {n}" for c, n in sorted(by_category.items())),
          file=sys.stderr)
    return 0
