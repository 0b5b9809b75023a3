"""Hardened readers for the files a user hands the harness: rig YAML, coverage fixtures, NV/backup JSON.

Every loader here ends in a clean `InputError` naming the file, the field and what was expected, never a
traceback, a hang or an out-of-memory:

* only regular files are opened, and without blocking: a FIFO or a device given as a file is refused instead of
  waiting forever for a writer;
* a size limit per kind of file, checked before reading;
* text must be UTF-8; the error gives the byte offset (and line) of the first bad byte;
* YAML is composed with PyYAML's safe loader, then walked with a cap on nodes *visited* (an alias counts each
  time it is used, so a billion-laughs document stops after the cap, not after exhausting memory), on nesting
  depth (a recursive anchor or `[[[[...` stops there) and with text-only mapping keys;
* JSON nesting is measured by a linear scan before `json.loads` (whose recursion would otherwise overflow).

Excerpts of bad values are cut to `EXCERPT` characters: a wrong file must never be echoed back whole.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InputError

EXCERPT = 60
MAX_DEPTH = 64  # nesting of mappings/lists; rig and coverage files need fewer than 10
MAX_NODES = 200_000  # YAML nodes visited, aliases expanded
RIG_MAX_BYTES = 256 * 1024
COVERAGE_MAX_BYTES = 8 * 1024 * 1024
JSON_MAX_BYTES = 16 * 1024 * 1024


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A value for an error message, cut short, with what it was and how long."""
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    return f"{shown[:limit]}... ({type(value).__name__} of {len(str(value))} chars)"


def read_bytes(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file, at most `max_bytes`. Never blocks on a FIFO, never reads a device."""
    p = str(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise InputError(f"cannot read {what}: no such file", where=p) from None
    except IsADirectoryError:
        raise InputError(f"is a folder (expected a {what})", where=p) from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO with no writer, opened non-blocking for writing; or a socket
            raise InputError(f"is not a regular file (expected a {what})", where=p) from None
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", where=p) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a named pipe" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode)
                    or stat.S_ISBLK(info.st_mode) else "a folder" if stat.S_ISDIR(info.st_mode) else "not a file")
            raise InputError(f"is {kind}, not a regular file (expected a {what})", where=p)
        if info.st_size > max_bytes:
            raise InputError(f"{info.st_size} bytes is over the {max_bytes}-byte limit for a {what}", where=p)
        chunks: list[bytes] = []
        total = 0
        while True:  # the size may change under us: stop at the limit whatever fstat said
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise InputError(f"over the {max_bytes}-byte limit for a {what}", where=p)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def decode_utf8(data: bytes, *, where: str, expected: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"byte {exc.start} (line {line}) is not UTF-8 (0x{data[exc.start]:02X}); expected {expected}",
                         where=where) from None


def read_text(path: str | os.PathLike[str], *, what: str, max_bytes: int, expected: str = "UTF-8 text") -> str:
    return decode_utf8(read_bytes(path, what=what, max_bytes=max_bytes), where=str(path), expected=expected)


# -- YAML ------------------------------------------------------------------------------------------------------


class _Budget:
    def __init__(self, where: str, max_nodes: int, max_depth: int) -> None:
        self.where, self.left, self.max_depth = where, max_nodes, max_depth
        self.max_nodes = max_nodes

    def visit(self, field_path: str, depth: int, line: int | None) -> None:
        self.left -= 1
        at = f"{self.where}:{line}" if line else self.where
        if self.left < 0:
            raise InputError(f"more than {self.max_nodes} values (aliases expanded); an alias bomb?",
                             where=f"{at}: {field_path or 'top level'}")
        if depth > self.max_depth:
            raise InputError(f"nested more than {self.max_depth} levels deep (a recursive anchor?)",
                             where=f"{at}: {field_path or 'top level'}")


def compose_yaml(text: str, where: str) -> yaml.Node | None:
    """The YAML node tree of `text` (safe loader). Syntax errors and runaway nesting become InputError."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise InputError(f"not valid YAML{at}: {problem}", where=where) from None
    except RecursionError:
        raise InputError(f"not valid YAML: nested too deeply (limit about {MAX_DEPTH} levels)", where=where) from None


def walk_yaml(node: yaml.Node, where: str, *, on_node: Callable[[str, yaml.Node, int], None] | None = None,
              max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> Any:
    """Plain Python data from a composed tree, within the budget; mapping keys must be text (or plain scalars)."""
    from yaml.constructor import SafeConstructor

    budget = _Budget(where, max_nodes, max_depth)
    constructor = SafeConstructor()

    def walk(n: yaml.Node, path: str, depth: int, line: int) -> Any:
        budget.visit(path, depth, line)
        if on_node is not None:
            on_node(path, n, line)
        if isinstance(n, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in n.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise InputError("a mapping key must be text, not a list or mapping",
                                     where=f"{where}:{key_line}: {path or 'top level'}")
                key = str(key_node.value)
                sub = f"{path}.{key}" if path else key
                if key in out:
                    raise InputError("given twice", where=f"{where}:{key_line}: {sub}")
                out[key] = walk(value_node, sub, depth + 1, key_line)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [walk(v, f"{path}[{i}]", depth + 1, v.start_mark.line + 1) for i, v in enumerate(n.value)]
        try:
            return constructor.construct_object(n, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. 2020-13-45 looks like a date
            raise InputError(f"{excerpt(n.value)} is not a valid value: {str(exc).splitlines()[0][:EXCERPT]}",
                             where=f"{where}:{line}: {path}") from None

    return walk(node, "", 0, node.start_mark.line + 1)


def load_yaml(text: str, where: str) -> Any:
    node = compose_yaml(text, where)
    return None if node is None else walk_yaml(node, where)


def load_yaml_file(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> Any:
    return load_yaml(read_text(path, what=what, max_bytes=max_bytes, expected="YAML"), str(path))


# -- JSON ------------------------------------------------------------------------------------------------------


def json_depth(text: str) -> int:
    """Deepest nesting of [ and { outside strings: one linear pass, no recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def load_json(text: str, where: str, *, max_depth: int = MAX_DEPTH) -> Any:
    if json_depth(text) > max_depth:
        raise InputError(f"nested more than {max_depth} levels deep (expected a JSON document of a few levels)",
                         where=where)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", where=where) from None
    except (RecursionError, ValueError) as exc:  # ValueError: an integer over Python's digit limit
        raise InputError(f"not valid JSON: {str(exc)[:EXCERPT]}", where=where) from None


def load_json_file(path: str | os.PathLike[str], *, what: str, max_bytes: int = JSON_MAX_BYTES) -> Any:
    """A JSON file (e.g. the NCP's --nv state or a zigpy --seed-backup), hardened like the YAML loaders."""
    return load_json(read_text(path, what=what, max_bytes=max_bytes, expected="JSON"), str(path))


def check_numbers(data: Any, where: str, *, max_abs: float = 1e12, path: str = "", depth: int = 0) -> None:
    """Refuse numbers no field of ours needs (they overflow dates and floats further in)."""
    if depth > MAX_DEPTH:
        raise InputError(f"nested more than {MAX_DEPTH} levels deep", where=f"{where}: {path or 'top level'}")
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise InputError(f"key {excerpt(key)} is a {type(key).__name__}; keys must be text",
                                 where=f"{where}: {path or 'top level'}")
            check_numbers(value, where, max_abs=max_abs, path=f"{path}.{key}" if path else key, depth=depth + 1)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            check_numbers(value, where, max_abs=max_abs, path=f"{path}[{i}]", depth=depth + 1)
    elif isinstance(data, int | float) and not isinstance(data, bool):
        if not abs(data) <= max_abs:  # also catches nan
            raise InputError(f"{excerpt(data)} is out of range (expected a number within ±{max_abs:g})",
                             where=f"{where}: {path}")


__all__ = ["InputError", "Path", "check_numbers", "compose_yaml", "decode_utf8", "excerpt", "json_depth", "load_json",
           "load_json_file", "load_yaml", "load_yaml_file", "read_bytes", "read_text", "walk_yaml"]
