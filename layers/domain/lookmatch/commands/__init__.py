"""Subcommands of `lookmatch`: one module each, exposing `register(subparsers)`.

Each `register` adds its parser and sets `func=` to a function taking the parsed args and
returning an exit code. Add a new command by adding its module name to NAMES.
"""
NAMES: list[str] = ["predict", "evaluate", "inventory", "run", "serve"]
