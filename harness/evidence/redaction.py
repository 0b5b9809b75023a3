"""Install codes and link keys are secrets: evidence and terminal output redact them unless asked not to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Field names whose values are secret wherever they appear in a timeline event or record.
SECRET_FIELDS = frozenset({"install_code", "link_key", "network_key", "key", "transient_key", "tc_link_key"})


def redact_hex(value: str | bytes) -> str:
    """Keep enough to tell two secrets apart on a bench (length and last two bytes), hide the rest."""
    text = value.hex().upper() if isinstance(value, bytes) else str(value)
    return f"<redacted {len(text) // 2} bytes …{text[-4:]}>" if len(text) >= 8 else "<redacted>"


def redact_fields(data: Mapping[str, Any], *, reveal: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out[key] = redact_fields(value, reveal=reveal)
        elif key in SECRET_FIELDS and value is not None and not reveal:
            out[key] = redact_hex(value)
        else:
            out[key] = value
    return out
