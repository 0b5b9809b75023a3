"""Which Python build runs the harness, and which one `make` builds the venv from.

The same code, on the same machine, ran a fleet premises in ~22 % less CPU on Debian's python3.11 than on a pyenv
build of 3.11.7 (docs/performance.md, "The interpreter build"). Debian links its interpreter statically and builds
it with profile-guided and link-time optimisation; pyenv's default build loads libpython3.11.so and has neither. A
process can see one of those things about itself: whether a libpython shared library is mapped into it. So where
the default `python3` loads libpython and another interpreter of the same minor version on the machine does not,
`make` builds the venv from that one. It is a heuristic (an optimised build may load libpython too, as Fedora's
does), so the choice is printed and `PYTHON=...` overrides it.

Standard library only, and runnable by path on any Python 3.7+: `make` runs `python3 harness/interpreter.py --pick`
before the venv exists, and the pick runs this file again under each candidate to ask it about itself.
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
from typing import Sequence

MINIMUM = (3, 11)  # pyproject.toml's requires-python
PROBE_TIMEOUT_S = 20.0
# Where a machine keeps interpreters beside the one on PATH (Debian's and a source build's default prefixes).
PLACES = ("/usr/bin", "/usr/local/bin")
NAMES = ("python3", *(f"python3.{minor}" for minor in range(MINIMUM[1], MINIMUM[1] + 4)))
# A mapped libpython3.so, libpython3.11.so.1.0, libpython3.12d.so, ...; a mapping of a replaced file ends " (deleted)".
_LIBPYTHON = re.compile(r"/libpython\d[\d.]*\w*\.so(?:\.[\d.]+)?(?: \(deleted\))?$")


@dataclass(frozen=True)
class Build:
    """One interpreter as it reports itself."""

    executable: str
    implementation: str
    version: tuple[int, int, int]
    shared_libpython: bool | None  # None: the process could not tell (no /proc)
    can_make_venv: bool | None  # None: not checked

    def label(self) -> str:
        linkage = {True: "loads libpython as a shared library", False: "libpython linked in",
                   None: "linkage unknown"}[self.shared_libpython]
        version = ".".join(map(str, self.version))
        real = os.path.realpath(self.executable)
        where = self.executable if real == self.executable else f"{self.executable} -> {real}"
        return f"{self.implementation} {version} ({where}), {linkage}"


def libpython_mapped(maps: str) -> bool:
    """Whether a /proc/<pid>/maps text has a libpython shared library mapped."""
    return any(_LIBPYTHON.search(line.rstrip()) for line in maps.splitlines())


def this_build(*, check_venv: bool = False) -> Build:
    """The running interpreter; with check_venv, also whether it can make a venv (imports venv and ensurepip)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            shared: bool | None = libpython_mapped(maps.read())
    except OSError:
        shared = None
    can_make_venv: bool | None = None
    if check_venv:
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


def candidates(path: str | None = None, places: Sequence[str] = PLACES) -> list[str]:
    """Interpreters by the names the harness can run on: on `path` (default: PATH) first, then in `places`; each
    file once."""
    found: list[str] = []
    seen: set[str] = set()
    for name in NAMES:
        for where in (path, *places):
            exe = shutil.which(name, path=where)
            if exe is None:
                continue
            real = os.path.realpath(exe)
            if real not in seen:
                seen.add(real)
                found.append(exe)
    return found


def usable(build: Build | None) -> bool:
    """Whether a venv for the harness can be made from this build."""
    return build is not None and build.can_make_venv is True and build.version[:2] >= MINIMUM


def choose(default: Build | None, others: Sequence[Build]) -> Build | None:
    """The default interpreter unless it loads libpython and another of its minor version does not; another
    version only when the default cannot make a venv or is too old."""
    ok = [b for b in (default, *others) if usable(b)]
    if not ok:
        return None
    same = [b for b in ok if b.version[:2] == ok[0].version[:2]]
    return next((b for b in same if b.shared_libpython is False), same[0])


def versioned_name(build: Build) -> str:
    """`python3.X` beside the build's executable when it is the same file: a venv made from it then survives the
    distribution moving `python3` to another version."""
    sibling = os.path.join(os.path.dirname(build.executable), f"python{build.version[0]}.{build.version[1]}")
    if os.path.exists(sibling) and os.path.samefile(sibling, build.executable):
        return sibling
    return build.executable


def _why_not(default: Build) -> str:
    if not usable(default):
        if default.version[:2] < MINIMUM:
            return f"the default python3, {default.label()}, is older than {'.'.join(map(str, MINIMUM))}"
        return f"the default python3, {default.label()}, cannot make a venv"
    return f"over the default python3, {default.label()}: docs/performance.md, 'The interpreter build'"


def pick() -> int:
    default = this_build(check_venv=True)
    found = candidates()
    others = [b for b in map(probe, found) if b is not None
              and os.path.realpath(b.executable) != os.path.realpath(default.executable)]
    chosen = choose(default, others)
    if chosen is None:
        print(f"no Python >= {'.'.join(map(str, MINIMUM))} that can make a venv on this machine (looked at "
              f"{default.executable}{''.join(', ' + exe for exe in found)}): install one, or give make PYTHON=...",
              file=sys.stderr)
        return 1
    reason = "the default python3" if chosen.executable == default.executable else _why_not(default)
    print(f"venv interpreter: {chosen.label()}; {reason}; PYTHON=... (make's or the environment's) chooses another",
          file=sys.stderr)
    print(versioned_name(chosen))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--describe", action="store_true", help="this interpreter, as JSON")
    mode.add_argument("--pick", action="store_true",
                      help="print the interpreter to build the venv from (the reason goes to stderr)")
    args = parser.parse_args(argv)
    if args.describe:
        print(json.dumps(asdict(this_build(check_venv=True))))
        return 0
    return pick()


if __name__ == "__main__":
    sys.exit(main())
