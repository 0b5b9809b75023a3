"""`smets2-harness` command line: one subcommand module per feature under harness/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harness import __version__
from harness.errors import HarnessError

# Each module in harness/commands/ exposes register(subparsers) and sets a `func` default on its parser(s).
COMMAND_MODULES: tuple[str, ...] = (
    "installcode",
    "run",
    "duis",
    "coverage",
    "rig",
    "emulate",
    "fleet",
)

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smets2-harness",
        description="Hardware-in-the-loop test harness for GB SMETS2 devices on a ZigBee Smart Energy HAN.",
    )
    parser.add_argument("--version", action="version", version=f"smets2-harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"harness.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except HarnessError as exc:
        print(f"smets2-harness {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
