"""Install codes and link keys are secrets: evidence and terminal output redact them unless asked not to."""

from __future__ import annotations

import ast
import logging
import re
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
        if key in SECRET_FIELDS and value is not None and not reveal and not isinstance(value, Mapping):
            out[key] = ([redact_hex(v) if v is not None else None for v in value] if isinstance(value, list | tuple)
                        else redact_hex(value))
        else:
            out[key] = _redact_nested(value, reveal)
    return out


def _redact_nested(value: Any, reveal: bool) -> Any:
    """Mappings inside lists are events too (e.g. a device log's entries): their secret fields are redacted."""
    if isinstance(value, Mapping):
        return redact_fields(value, reveal=reveal)
    if isinstance(value, list | tuple):
        return [_redact_nested(item, reveal) for item in value]
    return value


# -- frame logs (bellows' EZSP/ASH debug log, the emulated NCP's command log) -----------------------------------
# bellows prints a KeyData as 16 colon-separated octets (an EUI-64 has 8, so it is left alone), e.g.
# "'plaintext_key': 66:b6:90:...:bb" (importTransientKey) or "networkKey=..." (setInitialSecurityState).
_KEY_OCTETS = re.compile(r"\b(?:[0-9A-Fa-f]{2}:){15}[0-9A-Fa-f]{2}\b")
# ASH carries the same EZSP frames as raw bytes: the frame repr and the (only pseudo-randomised) wire hex.
_ASH_EZSP_FRAME = re.compile(r"ezsp_frame=b(?P<q>['\"])(?:\\.|(?!(?P=q)).)*(?P=q)")
_ASH_WIRE_DATA = re.compile(r"\b(?P<what>Sending data|Received data)\s+(?P<hex>[0-9A-Fa-f]+)")


def _redact_key_octets(match: re.Match[str]) -> str:
    return redact_hex(match.group(0).replace(":", ""))


def redact_log_text(text: str) -> str:
    """A frame-log line with link and network keys hidden.

    Decoded EZSP commands keep everything but the keys. Raw ASH bytes (the EZSP frame inside an ASH DATA frame
    and the wire hex) may hold a key anywhere, so only their length is kept; the decoded command lines from
    bellows.ezsp.protocol say what each frame was. --reveal-secrets keeps the raw bytes.
    """
    text = _KEY_OCTETS.sub(_redact_key_octets, text)
    text = _ASH_EZSP_FRAME.sub(lambda m: f"ezsp_frame=<{_byte_count(m.group(0))} bytes, redacted>", text)
    return _ASH_WIRE_DATA.sub(lambda m: f"{m.group('what')} <{len(m.group('hex')) // 2} bytes, redacted>", text)


def _byte_count(repr_text: str) -> int:
    literal = repr_text[len("ezsp_frame="):]
    try:
        return len(ast.literal_eval(literal))
    except (ValueError, SyntaxError):
        return len(literal)


class RedactingFormatter(logging.Formatter):
    """A log formatter that passes every formatted line through redact_log_text unless `reveal` is set."""

    def __init__(self, fmt: str | None = None, *, reveal: bool = False) -> None:
        super().__init__(fmt)
        self.reveal = reveal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if self.reveal else redact_log_text(text)
