"""`lookmatch evaluate PREDICTIONS.jsonl [--split test]`: score `lookmatch predict` output against
the held-out ground truth (lookmatch.datasets); `--list DATASET [--split S]` (alias `--list-test`)
prints the photos' paths so predict can run on exactly them:

    lookmatch evaluate --list ccp > /tmp/ccp_test.txt
    lookmatch predict $(cat /tmp/ccp_test.txt) --out /tmp/ccp.jsonl
    lookmatch evaluate /tmp/ccp.jsonl

Choosing between models end to end is done on val, never on test:
`lookmatch predict $(lookmatch evaluate --list ccp --split val) --out val.jsonl` then
`lookmatch evaluate val.jsonl --split val`; `--against OTHER.jsonl` adds a paired comparison of
the two files per head (photos only one reads right, exact McNemar p-value).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import datasets


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="score a predictions JSONL against the held-out split")
    parser.add_argument("predictions", nargs="?", type=Path, help="JSONL written by `lookmatch predict`")
    parser.add_argument("--split", default="test", choices=("test", "val", "train"),
                        help="which part of the split to score against (default: test)")
    parser.add_argument("--against", type=Path, metavar="OTHER.jsonl",
                        help="also compare with another predictions file, photo by photo")
    parser.add_argument("--ccp-labels", default=None, choices=datasets.CCP_LABEL_SOURCES,
                        help="ccp garment labels: read by eye from each photo (eye-sure: only the heads "
                             "the annotator was sure of), or derived from ccp's own tags and masks "
                             "(default: lookmatch.datasets.CCP_LABELS)")
    parser.add_argument("--list", "--list-test", dest="list_photos", metavar="DATASET",
                        choices=("ccp", "peta", "clothing"),
                        help="print the paths of DATASET's photos in --split (default: test) and exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import evaluation

    try:
        if args.list_photos:
            for path in evaluation.split_photos(args.list_photos, args.split):
                print(path)
            return 0
        if args.predictions is None:
            print("lookmatch evaluate: give a predictions JSONL file (or --list DATASET)", file=sys.stderr)
            return 2
        source = args.ccp_labels or datasets.CCP_LABELS
        with open(args.predictions) as f:
            report = evaluation.evaluate_predictions(f, args.split, ccp_source=source)
        other = None
        if args.against is not None:
            with open(args.against) as f:
                other = evaluation.evaluate_predictions(f, args.split, ccp_source=source)
    except (OSError, ValueError, KeyError) as exc:
        print(f"lookmatch evaluate: {exc}", file=sys.stderr)
        return 1
    if report.photos == 0:
        print(f"lookmatch evaluate: no line of {args.predictions} is a {args.split} photo of ccp/peta/clothing "
              f"({report.unmatched} lines unmatched)", file=sys.stderr)
        return 1
    print(evaluation.format_report(report))
    if other is not None:
        comparison = evaluation.compare_reports(report, other)
        print("\n" + evaluation.format_comparison(comparison, str(args.predictions), str(args.against)))
    return 0
