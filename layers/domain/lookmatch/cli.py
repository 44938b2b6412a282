"""`lookmatch` command line: dispatches to the modules in lookmatch.commands."""
from __future__ import annotations

import argparse
import importlib
import sys

from .commands import NAMES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lookmatch", description="Photo of a person in, matching garments out.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in NAMES:
        importlib.import_module(f"lookmatch.commands.{name}").register(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
