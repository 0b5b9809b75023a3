"""The venv's interpreter: how a build is read (libpython mapped or not), where candidates are found, which one
`make` picks and what it prints."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import interpreter
from harness.interpreter import Build, candidates, choose, libpython_mapped

ROOT = Path(__file__).resolve().parents[1]

STATIC_MAPS = """\
55d0c0a00000-55d0c0a6e000 r--p 00000000 08:01 1311 /usr/bin/python3.11
7f1e2b000000-7f1e2b022000 r--p 00000000 08:01 2044 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1e2b400000-7f1e2b410000 r-xp 00000000 08:01 2051 /usr/lib/x86_64-linux-gnu/libpythonesque-helper.txt
7f1e2b500000-7f1e2b510000 r-xp 00000000 08:01 2052 /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0-gdb.py
"""


def build(name: str, version: tuple[int, int, int] = (3, 11, 7), *, shared: bool | None = True,
          venv: bool | None = True) -> Build:
    return Build(executable=f"/opt/{name}", implementation="CPython", version=version, shared_libpython=shared,
                 can_make_venv=venv)


@pytest.mark.parametrize("line", [
    "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0",
    "/usr/lib64/libpython3.12d.so",
    "/usr/lib/libpython3.so",
    "/opt/my pythons/lib/libpython3.13t.so.1.0",
    "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0 (deleted)",
])
def test_a_mapped_libpython_shared_library_is_seen(line: str) -> None:
    assert libpython_mapped(STATIC_MAPS + f"7f1e2c000000-7f1e2c0b5000 r-xp 00000000 08:01 9001 {line}\n")


def test_nothing_else_reads_as_libpython() -> None:
    assert not libpython_mapped(STATIC_MAPS)
    assert not libpython_mapped("7f00-7f01 r-xp 0 08:01 1 /usr/lib/libpython3.11.a.txt\n")
    assert not libpython_mapped("7f00-7f01 r-xp 0 08:01 1 /usr/lib/libboost_python311.so.1.74.0\n")


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
    unchecked = build("unchecked", (3, 11, 2), shared=False, venv=None)
    fallback = build("fallback", (3, 12, 1), shared=True)
    assert choose(old, [no_venv, unchecked, fallback]) is fallback
    assert choose(None, [old, no_venv]) is None


def _fake_python(folder: Path, name: str, target: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / name
    if target is not None:
        exe.symlink_to(target)
    else:
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    return exe


def test_candidates_come_from_path_first_then_the_places_each_file_once(tmp_path: Path) -> None:
    on_path = _fake_python(tmp_path / "bin", "python3")
    elsewhere = _fake_python(tmp_path / "usr-bin", "python3.11")
    _fake_python(tmp_path / "usr-bin", "python3", target=elsewhere)  # the same file as python3.11 there
    _fake_python(tmp_path / "local", "python3.12")
    _fake_python(tmp_path / "local", "python3.11", target=on_path)  # the same file as the one on PATH
    found = candidates(str(tmp_path / "bin"), places=(str(tmp_path / "usr-bin"), str(tmp_path / "local")))
    assert found == [str(on_path), str(tmp_path / "usr-bin" / "python3"), str(tmp_path / "local" / "python3.12")]


def test_pick_prints_the_versioned_file_of_the_choice_and_why(monkeypatch, capsys, tmp_path: Path) -> None:
    real = _fake_python(tmp_path / "usr-bin", "python3.11")
    alias = _fake_python(tmp_path / "usr-bin", "python3", target=real)
    default = build("pyenv/bin/python3", (3, 11, 7), shared=True)
    static = dataclasses.replace(build("static", (3, 11, 2), shared=False), executable=str(alias))
    monkeypatch.setattr(interpreter, "this_build", lambda check_venv=False: default)
    monkeypatch.setattr(interpreter, "candidates", lambda: [str(alias)])
    monkeypatch.setattr(interpreter, "probe", lambda exe: static if exe == str(alias) else None)
    assert interpreter.main(["--pick"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(real)  # python3.11, not the python3 a distribution upgrade may move
    assert "over the default python3, CPython 3.11.7 (/opt/pyenv/bin/python3)" in err and "PYTHON=" in err


def test_pick_without_a_usable_python_fails_and_says_where_it_looked(monkeypatch, capsys) -> None:
    old = build("old/python3", (3, 10, 13), shared=False)
    monkeypatch.setattr(interpreter, "this_build", lambda check_venv=False: old)
    monkeypatch.setattr(interpreter, "candidates", lambda: ["/opt/other/python3.11"])
    monkeypatch.setattr(interpreter, "probe", lambda exe: None)
    assert interpreter.main(["--pick"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "no Python >= 3.11" in err and "/opt/old/python3" in err and "/opt/other/python3.11" in err


@pytest.mark.skipif(not Path("/proc/self/maps").exists() or shutil.which("ldd") is None,
                    reason="needs Linux's /proc/self/maps and ldd to check the linkage two ways")
def test_this_interpreter_reads_its_linkage_as_ldd_does() -> None:
    """ldd reads the executable's dynamic section; the harness reads its own process's mappings."""
    real = Path(sys.executable).resolve()
    ldd = subprocess.run(["ldd", str(real)], capture_output=True, text=True, check=False).stdout
    assert interpreter.this_build().shared_libpython is ("libpython" in ldd)


def test_another_interpreter_describes_itself_as_it_runs() -> None:
    """The probe runs this file by path under the other interpreter, as make's pick does."""
    described = interpreter.probe(sys.executable)
    assert described == interpreter.this_build(check_venv=True)


FAKE_PYTHON = """#!/bin/sh
# Stands in for an interpreter: logs how make called it; makes a venv of itself; answers the pick with $PICK.
echo "$0 $*" >> "$LOG"
if [ "$1" = "harness/interpreter.py" ]; then [ -n "$PICK" ] || exit 1; echo "$PICK"; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
exit 0
"""


@pytest.fixture
def make_venv(tmp_path: Path):
    """Runs the Makefile's venv target in a copy of the project, with fake interpreters in a folder with a space."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    work = tmp_path / "work"
    work.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, work / name)
    fakes = tmp_path / "my pythons"
    fakes.mkdir()
    for name in ("python3", "python3.11"):
        (fakes / name).write_text(FAKE_PYTHON)
        (fakes / name).chmod(0o755)
    log = tmp_path / "calls.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env.update(PATH=f"{fakes}:/usr/bin:/bin", LOG=str(log))

    def run(*args: str, pick: str = "") -> tuple[int, list[str]]:
        done = subprocess.run([make, "-s", ".venv/.installed", *args], cwd=work, capture_output=True, text=True,
                              env={**env, "PICK": pick}, timeout=60)
        return done.returncode, log.read_text().splitlines() if log.exists() else []

    return run, work, fakes


def test_make_builds_the_venv_from_the_pick(make_venv) -> None:
    run, work, fakes = make_venv
    rc, calls = run(pick=f"{fakes}/python3.11")
    assert rc == 0
    assert calls[0] == f"{fakes}/python3 harness/interpreter.py --pick"
    assert calls[1] == f"{fakes}/python3.11 -m venv .venv"  # the pick, whole, though its folder has a space
    assert (work / ".venv" / ".installed").exists()


def test_make_stops_when_the_pick_finds_no_python(make_venv) -> None:
    run, work, _ = make_venv
    rc, calls = run()
    assert rc != 0 and not (work / ".venv").exists()
    assert all("-m venv" not in call for call in calls)


def test_make_takes_python_as_given_without_a_pick(make_venv) -> None:
    run, work, fakes = make_venv
    rc, calls = run(f"PYTHON={fakes}/python3.11")
    assert rc == 0
    assert calls[0] == f"{fakes}/python3.11 -m venv .venv"
    assert all("interpreter.py" not in call for call in calls)
