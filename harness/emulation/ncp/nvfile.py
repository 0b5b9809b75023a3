"""Loading and saving the emulated NCP's NV state and seed backups as files, defensively.

Both files come from users (or from another tool), so on load: a regular file only (no FIFO or device that would
block or stream forever), bounded size and JSON nesting, and every NV field checked for type and range, so a
damaged file fails at start with an error naming the file and the field instead of breaking a host later (a saved
channel 200 made every later host fail to initialise, issue 9). On save: owner-only permissions (the file holds
the network key and link keys), written to a temporary file and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from harness.emulation.ncp.nvstate import NvState
from harness.errors import InputError
from harness.inputs import load_json, read_text

MAX_NV_BYTES = 1 << 20  # a full NV (250 keys, tokens) is a few tens of kB
MAX_BACKUP_BYTES = 4 << 20
MAX_DEPTH = 16
MAX_TABLE_ENTRIES = 256  # key table, children, tokens
MAX_TOKEN_BYTES = 256

_HEX_KEY = re.compile(r"^[0-9a-fA-F]{32}$")
_EUI64 = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){7}$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})*$")
_MFG_TOKEN = re.compile(r"^[A-Z][A-Z0-9_]{0,47}$")  # EzspMfgTokenId names and features' own (cbke.py)
_TOKEN_KEY = re.compile(r"^0x[0-9A-Fa-f]{1,8}:\d{1,3}$")


def read_json_file(path: Path, *, where: str, max_bytes: int) -> Any:
    """A JSON document from a regular file of at most max_bytes and MAX_DEPTH levels (harness.inputs' hardened
    readers: no FIFO or device is opened for a blocking read), errors named by `where` (e.g. "--nv FILE")."""
    try:
        text = read_text(path, what="JSON file", max_bytes=max_bytes, expected="JSON")
        return load_json(text, where, max_depth=MAX_DEPTH)
    except InputError as exc:
        if exc.where == where:
            raise
        message = str(exc).removeprefix(f"{exc.where}: ") if exc.where else str(exc)
        raise InputError(message.replace("-byte limit", "-byte limit allowed"), where=where) from None


def load_nv(path: Path, *, where: str) -> NvState:
    doc = read_json_file(path, where=where, max_bytes=MAX_NV_BYTES)
    if not isinstance(doc, dict):
        raise InputError("is not a JSON object", where=where)
    check_nv_dict(doc, where=where)
    try:
        return NvState.from_dict(doc)
    except InputError as exc:
        raise InputError(str(exc).removeprefix("nvstate: "), where=where) from exc
    except TypeError as exc:
        raise InputError(f"malformed entry: {exc}", where=where) from exc


def load_seed_backup(path: Path, *, where: str) -> NvState:
    doc = read_json_file(path, where=where, max_bytes=MAX_BACKUP_BYTES)
    if not isinstance(doc, dict):
        raise InputError("is not a JSON object", where=where)
    try:
        nv = NvState.from_zigpy_backup(doc)
    except InputError as exc:
        raise InputError(str(exc).removeprefix("backup: "), where=where) from exc
    check_nv_dict(nv.as_dict(), where=where)
    return nv


def _int(doc: dict, name: str, low: int, high: int, where: str) -> None:
    value = doc.get(name)
    if name not in doc:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{value!r} is not an integer {low}..{high}", where=f"{where}: {name}")


def _match(doc: dict, name: str, pattern: re.Pattern[str], expect: str, where: str, *, optional: bool = False) -> None:
    if name not in doc:
        return
    value = doc[name]
    if value is None and optional:
        return
    if not isinstance(value, str) or not pattern.match(value):
        shown = "<redacted>" if "key" in name else repr(value)
        raise InputError(f"{shown} is not {expect}", where=f"{where}: {name}")


def check_nv_dict(doc: dict[str, Any], *, where: str) -> None:
    """Every field of an NV state dict of the right type and in the range the firmware allows."""
    if "formed" in doc and not isinstance(doc["formed"], bool):
        raise InputError(f"{doc['formed']!r} is not true/false", where=f"{where}: formed")
    _match(doc, "eui64", _EUI64, "an EUI-64 like 00:0d:6f:00:00:00:00:01", where, optional=True)
    _match(doc, "extended_pan_id", _EUI64, "an extended PAN id like dd:dd:dd:dd:dd:dd:dd:dd", where)
    _match(doc, "network_key", _HEX_KEY, "32 hex digits", where)
    _match(doc, "tc_link_key", _HEX_KEY, "32 hex digits", where)
    _int(doc, "node_id", 0, 0xFFF7, where)
    _int(doc, "node_type", 0, 0xFF, where)
    _int(doc, "pan_id", 0, 0xFFFF, where)
    _int(doc, "tx_power", -128, 127, where)
    _int(doc, "channels", 0, 0xFFFFFFFF, where)
    _int(doc, "nwk_manager_id", 0, 0xFFFF, where)
    _int(doc, "nwk_update_id", 0, 0xFF, where)
    _int(doc, "network_key_seq", 0, 0xFF, where)
    _int(doc, "security_bitmask", 0, 0xFFFF, where)
    _int(doc, "nwk_frame_counter", 0, 0xFFFFFFFF, where)
    _int(doc, "aps_frame_counter", 0, 0xFFFFFFFF, where)
    if doc.get("formed"):
        _int(doc, "channel", 11, 26, where)  # a formed 2.4 GHz network is on 11..26
        _int(doc, "pan_id", 0, 0xFFFE, where)
    else:
        _int(doc, "channel", 0, 26, where)
    for table in ("key_table", "children"):
        entries = doc.get(table, [])
        if not isinstance(entries, list) or len(entries) > MAX_TABLE_ENTRIES:
            raise InputError(f"is not a list of at most {MAX_TABLE_ENTRIES} entries", where=f"{where}: {table}")
        for i, entry in enumerate(entries):
            here = f"{where}: {table}[{i}]"
            if not isinstance(entry, dict):
                raise InputError("is not an object", where=here)
            _match(entry, "eui64", _EUI64, "an EUI-64", here)
            if table == "key_table":
                _match(entry, "key", _HEX_KEY, "32 hex digits", here)
                _int(entry, "tx_counter", 0, 0xFFFFFFFF, here)
                _int(entry, "rx_counter", 0, 0xFFFFFFFF, here)
            else:
                _int(entry, "nwk", 0, 0xFFF7, here)
                _int(entry, "node_type", 0, 0xFF, here)
    for table, key_ok in (("tokens", _TOKEN_KEY.match), ("mfg_tokens", _MFG_TOKEN.match)):
        entries = doc.get(table, {})
        if not isinstance(entries, dict) or len(entries) > MAX_TABLE_ENTRIES:
            raise InputError(f"is not an object of at most {MAX_TABLE_ENTRIES} entries", where=f"{where}: {table}")
        for name, value in entries.items():
            if not key_ok(name):
                raise InputError(f"{name!r} is not a token name", where=f"{where}: {table}")
            if not isinstance(value, str) or not _HEX.match(value) or len(value) > 2 * MAX_TOKEN_BYTES:
                raise InputError(f"is not hex of at most {MAX_TOKEN_BYTES} bytes", where=f"{where}: {table}.{name}")


def save_nv(nv: NvState, path: Path) -> None:
    """Write NV as JSON, owner-only (0600: it holds the network key), via a temporary file and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(nv.to_json())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
