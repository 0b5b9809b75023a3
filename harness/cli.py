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
    "report",
    "duis",
    "coverage",
    "rig",
    "emulate",
    "fleet",
)

# One line each for the top-level --help, so listing the commands imports none of them (several pull in bellows
# and zigpy, about 0.6 s); only the command being run is imported.
COMMAND_HELP: dict[str, str] = {
    "installcode": "check an install code and print its CRC and link key",
    "run": "run the bench scenarios on a rig and write the evidence report",
    "duis": "check or build DUIS service request XML",
    "coverage": "SM WAN Coverage Database lookups (SR 12.1, SEC Appendix H 3.3)",
    "rig": "work with rig files (rig check)",
    "emulate": "run emulated equipment (an EZSP coordinator NCP) for bellows/zigpy to talk to",
    "fleet": "run the DP121 story over many emulated premises and summarise them",
}

EXIT_USAGE = 2


def _chosen_command(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given `argv`, only the command it names is imported (the others are listed by name)."""
    parser = argparse.ArgumentParser(
        prog="smets2-harness",
        description="Hardware-in-the-loop test harness for GB SMETS2 devices on a ZigBee Smart Energy HAN.",
    )
    parser.add_argument("--version", action="version", version=f"smets2-harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = None if argv is None else _chosen_command(argv)
    for name in COMMAND_MODULES:
        if argv is None or name == chosen:
            importlib.import_module(f"harness.commands.{name}").register(sub)
        else:
            sub.add_parser(name, help=COMMAND_HELP.get(name, ""), add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
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
