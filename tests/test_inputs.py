"""Hostile inputs: mutated rig and coverage files, bombs and odd files. Each ends in a clean error (HarnessError,
naming the file) or a success, quickly; never a traceback of another kind, never a hang."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.coverage_file import load_coverage_db
from harness.errors import HarnessError, InputError
from harness.inputs import json_depth, load_json, load_json_file, read_bytes
from harness.rig import parse_rig

ROOT = Path(__file__).resolve().parents[1]
RIG_TEXT = (ROOT / "rigs" / "emulated.yaml").read_text()
COVERAGE_TEXT = (ROOT / "fixtures" / "coverage_db.yaml").read_text()
pytestmark = pytest.mark.timeout(120)

NASTY = ["&a", "*a", "[", "]", "{", "}", ":", "- ", "? ", "!!python/object:os.system", "\t", "9" * 400, "1e999",
         "~", "'", '"', "\n  ", "<<: *a", "\x00", "\udc80"]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(NASTY), st.text(max_size=8)))
        if action == "insert":
            text = text[:pos] + piece + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)):]
        else:
            text = text[:pos] + piece + text[pos + len(piece):]
    return text


@settings(max_examples=150)
@given(mutated(RIG_TEXT))
def test_mutated_rig_files_load_or_fail_cleanly(text: str) -> None:
    try:
        parse_rig(text, "lab.yaml")
    except HarnessError as exc:
        assert str(exc).startswith("lab.yaml")


@settings(max_examples=100)
@given(mutated(COVERAGE_TEXT))
def test_mutated_coverage_files_load_or_fail_cleanly(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("cov") / "cov.yaml"
    path.write_text(text, errors="surrogateescape") if "\udc80" not in text else path.write_bytes(
        text.encode("utf-8", "surrogateescape"))
    try:
        load_coverage_db(path)
    except HarnessError as exc:
        assert str(path) in str(exc)


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@pytest.mark.parametrize("text, fragment", [
    ('a: &a ["x","x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"b{i}: &b{i} [{', '.join(['*' + ('a' if i == 0 else f'b{i - 1}')] * 10)}]\n" for i in range(8)), "alias bomb"),
    ("a: &a [*a]\n", "nested more than"),
    ("a: " + "[" * 3000 + "\n", "not valid YAML"),
    ("? [1, 2]\n: x\n", "key must be text"),
    ("postcodes: []\ndatabase_lag_days: " + "9" * 400 + "\n", "out of range"),
    ("postcodes: []\ndatabase_lag_days: 99999999\n", "out of range"),
])
def test_coverage_bombs_and_bad_shapes(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        load_coverage_db(write(tmp_path, "cov.yaml", text))
    assert fragment in str(info.value) and str(tmp_path) in str(info.value) and len(str(info.value)) < 400


def test_coverage_non_utf8_named_with_offset(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"byte 13 \(line 2\) is not UTF-8 \(0xFF\)"):
        load_coverage_db(write(tmp_path, "cov.yaml", b"postcodes:\n  \xff"))


def test_coverage_mixed_key_types_in_json(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_coverage_db(write(tmp_path, "cov.json", json.dumps({"postcodes": [{"1": 2, "postcode": 3}]})))


def test_fifo_and_device_are_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        load_json_file(fifo, what="NV state file")
    with pytest.raises(InputError, match="a device"):
        read_bytes("/dev/zero", what="NV state file", max_bytes=10)


def test_json_nesting_is_measured_without_recursion(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    assert json_depth(deep) == 100_000 and json_depth('{"a": "[[[["}') == 1
    with pytest.raises(InputError, match="nested more than 64 levels"):
        load_json_file(write(tmp_path, "nv.json", deep), what="NV state file")
    with pytest.raises(InputError, match="not valid JSON"):
        load_json("{", "nv.json")


def test_size_limit(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="over the 10-byte limit"):
        read_bytes(write(tmp_path, "big", "x" * 11), what="file", max_bytes=10)
