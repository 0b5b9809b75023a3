"""Which Python build runs the harness, and which one `make` builds the venv from.

The same code, on the same machine, ran a fleet premises in ~22 % less CPU on Debian's python3.11 than on a pyenv
build of 3.11.7 (docs/performance.md, "Eighth sitting"). Debian links its interpreter statically and builds it
with profile-guided and link-time optimisation; pyenv's default build loads libpython3.11.so and has neither. A
process can see one of those things about itself: whether a libpython shared library is mapped into it. So where
the default `python3` loads libpython and another interpreter of the same minor version on the machine does not,
`make` builds the venv from that one (`PYTHON=...` overrides the choice; docs/performance.md says why it matters).

Standard library only: `make` runs `python3 -m harness.interpreter --pick` before the venv exists.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass

MINIMUM = (3, 11)  # pyproject.toml's requires-python
PROBE_TIMEOUT_S = 20.0
# Where a machine keeps interpreters beside the one on PATH (Debian's and a source build's default prefixes).
_PLACES = ("/usr/bin", "/usr/local/bin")
_NAMES = ("python3", *(f"python3.{minor}" for minor in range(MINIMUM[1], MINIMUM[1] + 4)))
_LIBPYTHON = re.compile(r"/libpython\d[\d.]*\w*\.so(?:\.[\d.]+)?$")


@dataclass(frozen=True)
class Build:
    """One interpreter as it reports itself."""

    executable: str
    implementation: str
    version: tuple[int, int, int]
    shared_libpython: bool | None  # None: the process could not tell (no /proc)
    can_make_venv: bool

    def label(self) -> str:
        linkage = {True: "loads libpython as a shared library", False: "libpython linked in",
                   None: "linkage unknown"}[self.shared_libpython]
        version = ".".join(map(str, self.version))
        return f"{self.implementation} {version} ({self.executable}), {linkage}"


def libpython_mapped(maps: str) -> bool:
    """Whether a /proc/<pid>/maps text has a libpython shared library mapped."""
    return any(_LIBPYTHON.search(line.rstrip()) for line in maps.splitlines())


def this_build() -> Build:
    """The running interpreter."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            shared: bool | None = libpython_mapped(maps.read())
    except OSError:
        shared = None
    try:
        import ensurepip  # noqa: F401  (Debian ships it apart, in python3.X-venv)
        import venv  # noqa: F401
        can_make_venv = True
    except ImportError:
        can_make_venv = False
    major, minor, micro = sys.version_info[:3]
    return Build(executable=sys.executable, implementation=platform.python_implementation(),
                 version=(major, minor, micro), shared_libpython=shared, can_make_venv=can_make_venv)


def probe(executable: str) -> Build | None:
    """Another interpreter, as it reports itself; None when it cannot run this file."""
    try:
        out = subprocess.run([executable, "-I", os.path.abspath(__file__), "--describe"], capture_output=True,
                             text=True, timeout=PROBE_TIMEOUT_S, check=False)
        if out.returncode != 0:
            return None
        fields = json.loads(out.stdout)
        fields["version"] = tuple(fields["version"])
        return Build(**fields)
    except (OSError, subprocess.TimeoutExpired, ValueError, TypeError, KeyError):
        return None


def candidates(path: str | None = None) -> list[str]:
    """Interpreters on this machine by the names the harness can run on, PATH first; each file once."""
    found: list[str] = []
    seen: set[str] = set()
    places = [None, *_PLACES]  # None: the PATH
    for name in _NAMES:
        for place in places:
            exe = shutil.which(name, path=path if place is None else place)
            if exe is None:
                continue
            real = os.path.realpath(exe)
            if real not in seen:
                seen.add(real)
                found.append(exe)
    return found


def choose(default: Build | None, others: list[Build]) -> Build | None:
    """The default interpreter unless it loads libpython and another of its minor version does not."""
    usable = [b for b in (default, *others) if b is not None and b.can_make_venv and b.version[:2] >= MINIMUM]
    if not usable:
        return None
    same = [b for b in usable if b.version[:2] == usable[0].version[:2]]
    return next((b for b in same if b.shared_libpython is False), same[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--describe", action="store_true", help="this interpreter, as JSON")
    mode.add_argument("--pick", action="store_true",
                      help="print the interpreter to build the venv from (the reason goes to stderr)")
    args = parser.parse_args(argv)
    if args.describe:
        print(json.dumps(asdict(this_build())))
        return 0
    default = this_build()
    others = [b for b in map(probe, candidates()) if b is not None
              and os.path.realpath(b.executable) != os.path.realpath(default.executable)]
    chosen = choose(default, others)
    if chosen is None:
        print(f"no Python >= {'.'.join(map(str, MINIMUM))} that can make a venv on this machine "
              f"(looked at {default.executable} and {', '.join(candidates()) or 'nothing else'})", file=sys.stderr)
        return 1
    reason = ("the default python3" if chosen.executable == default.executable else
              f"over the default python3, {default.label()}: docs/performance.md, 'The interpreter build'")
    print(f"venv interpreter: {chosen.label()}; {reason}; make PYTHON=... chooses another", file=sys.stderr)
    print(chosen.executable)
    return 0


if __name__ == "__main__":
    sys.exit(main())
