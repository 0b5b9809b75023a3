"""The venv's interpreter: how a build is read (libpython mapped or not) and which one `make` picks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import interpreter
from harness.interpreter import Build, choose, libpython_mapped

ROOT = Path(__file__).resolve().parents[1]

STATIC_MAPS = """\
55d0c0a00000-55d0c0a6e000 r--p 00000000 08:01 1311 /usr/bin/python3.11
7f1e2b000000-7f1e2b022000 r--p 00000000 08:01 2044 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2b400000-7f1e2b410000 r-xp 00000000 08:01 2051 /usr/lib/x86_64-linux-gnu/libpythonesque-helper.txt
"""
SHARED_MAPS = STATIC_MAPS + (
    "7f1e2c000000-7f1e2c0b5000 r-xp 00000000 08:01 9001 /root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0\n")


def build(name: str, version: tuple[int, int, int] = (3, 11, 7), *, shared: bool | None = True,
          venv: bool = True) -> Build:
    return Build(executable=f"/opt/{name}", implementation="CPython", version=version, shared_libpython=shared,
                 can_make_venv=venv)


def test_a_mapped_libpython_shared_library_is_seen_and_nothing_else_counts() -> None:
    assert libpython_mapped(SHARED_MAPS)
    assert not libpython_mapped(STATIC_MAPS)
    assert libpython_mapped("7f00-7f01 r-xp 0 08:01 1 /usr/lib64/libpython3.12d.so\n")
    assert not libpython_mapped("7f00-7f01 r-xp 0 08:01 1 /usr/lib/libpython3.11.a.txt\n")


def test_the_default_stays_when_it_links_libpython_in() -> None:
    default = build("default", shared=False)
    assert choose(default, [build("other", shared=False)]) is default


def test_a_build_of_the_same_minor_version_without_shared_libpython_wins_over_the_default() -> None:
    default = build("default", shared=True)
    static = build("static", (3, 11, 2), shared=False)
    assert choose(default, [build("unknown", shared=None), static]) is static


def test_another_minor_version_is_not_taken_for_speed() -> None:
    default = build("default", (3, 11, 7), shared=True)
    assert choose(default, [build("newer", (3, 12, 1), shared=False)]) is default


def test_interpreters_too_old_or_without_venv_are_passed_over() -> None:
    old = build("old", (3, 10, 13), shared=False)
    no_venv = build("no-venv", (3, 11, 2), shared=False, venv=False)
    fallback = build("fallback", (3, 12, 1), shared=True)
    assert choose(old, [no_venv, fallback]) is fallback
    assert choose(None, [old, no_venv]) is None


@pytest.mark.skipif(not Path("/proc/self/maps").exists() or shutil.which("ldd") is None,
                    reason="needs Linux's /proc/self/maps and ldd to check the linkage two ways")
def test_this_interpreter_reads_its_linkage_as_ldd_does() -> None:
    """ldd reads the executable's dynamic section; the harness reads its own process's mappings."""
    real = Path(sys.executable).resolve()
    ldd = subprocess.run(["ldd", str(real)], capture_output=True, text=True, check=False).stdout
    assert interpreter.this_build().shared_libpython is ("libpython" in ldd)


def test_pick_prints_a_usable_interpreter_and_prefers_a_linked_in_libpython() -> None:
    """As make runs it: the python3 on PATH picks, among itself and the interpreters beside it."""
    default_exe = shutil.which("python3") or sys.executable
    default = interpreter.probe(default_exe)
    assert default is not None, f"{default_exe} cannot describe itself"
    out = subprocess.run([default_exe, "-m", "harness.interpreter", "--pick"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    picked = interpreter.probe(out.stdout.strip())
    assert picked is not None and picked.can_make_venv and picked.version[:2] >= interpreter.MINIMUM
    assert "venv interpreter:" in out.stderr and picked.executable in out.stderr
    same_minor = [b for b in map(interpreter.probe, interpreter.candidates())
                  if b is not None and b.can_make_venv and b.version[:2] == default.version[:2]]
    if default.can_make_venv and any(b.shared_libpython is False for b in same_minor):
        assert picked.shared_libpython is False and picked.version[:2] == default.version[:2]


def test_make_builds_the_venv_from_the_pick_unless_python_is_given() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    def venv_line(*extra: str) -> str:
        out = subprocess.run(["make", "-n", "-B", ".venv/.installed", *extra], cwd=ROOT, capture_output=True,
                             text=True, check=True, env={"PATH": "/usr/bin:/bin"})
        return next(line for line in out.stdout.splitlines() if "-m venv" in line)
    assert "python3 -m harness.interpreter --pick" in venv_line()
    assert venv_line("PYTHON=/opt/py/bin/python3").endswith("|| /opt/py/bin/python3 -m venv .venv")
