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
# What every such dump contains: its last 15 octets, each after a colon. A pattern led by a literal is searched by
# jumping from colon to colon; _KEY_OCTETS, led by \b and a class, is tried at every position: 136 us for a 3.7 KB
# record without a dump, 8.5 us to find there is none (a fleet premises writes ~40 records and timeline lines).
_KEY_OCTETS_HINT = re.compile(r":(?:[0-9A-Fa-f]{2}:){14}[0-9A-Fa-f]{2}")
# ASH carries the same EZSP frames as raw bytes: the frame repr and the (only pseudo-randomised) wire hex.
_ASH_EZSP_FRAME = re.compile(r"ezsp_frame=b(?P<q>['\"])(?:\\.|(?!(?P=q)).)*(?P=q)")
_ASH_WIRE_DATA = re.compile(r"\b(?P<what>Sending data|Received data)\s+(?P<hex>[0-9A-Fa-f]+)\b")  # not "data frame"


def _redact_key_octets(match: re.Match[str]) -> str:
    return redact_hex(match.group(0).replace(":", ""))


def _hide_key_octets(text: str) -> str:
    """`text` with every 16-octet colon-separated dump hidden."""
    if _KEY_OCTETS_HINT.search(text) is None:
        return text
    return _KEY_OCTETS.sub(_redact_key_octets, text)


def redact_log_text(text: str) -> str:
    """A frame-log line with link and network keys hidden.

    Decoded EZSP commands keep everything but the keys. Raw ASH bytes (the EZSP frame inside an ASH DATA frame
    and the wire hex) may hold a key anywhere, so only their length is kept; the decoded command lines from
    bellows.ezsp.protocol say what each frame was. --reveal-secrets keeps the raw bytes.
    """
    text = _hide_key_octets(text)
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


# -- one redaction path for free text: failure messages, tracebacks, captured logs, records, terminal output ----
# Field-based redaction (above) covers what the harness records itself. Free text can hold a secret in any form a
# library or a test author prints: hex upper or lower, with ':', '-', ' ' or ', 0x' between octets, in either byte
# order (zigpy prints some values little-endian), or as a Python bytes repr. The secrets of a run (the rig's
# install codes and their derived link keys, the network key and TC link key the coordinator formed with) are
# registered here once, and every writer and printer passes its text through `redact_text`.

_SEP = r"(?:[\s:,_\-]|\\x|0x)*"


class SecretBook:
    """The run's secrets and one compiled pattern that finds any of them in any of the forms above."""

    def __init__(self) -> None:
        self._secrets: dict[bytes, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: bytes, label: str = "secret") -> None:
        raw = bytes(secret)
        if len(raw) >= 8 and raw not in self._secrets:
            self._secrets[raw] = label
            self._pattern = None

    def __len__(self) -> int:
        return len(self._secrets)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._secrets)

    def clear(self) -> None:
        self._secrets.clear()
        self._pattern = None

    def _compile(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._secrets:
            forms: list[tuple[str, int]] = []
            self._by_group: list[bytes] = list(self._secrets)
            for i, raw in enumerate(self._by_group):
                for octets in (raw, raw[::-1]):
                    forms.append((r"(?:0x)?" + _SEP.join(f"{b:02x}" for b in octets), i))
                    forms.append((re.escape(repr(octets)[2:-1]), i))  # b'f\xb6\x90...' as Python prints it
            forms.sort(key=lambda f: len(f[0]), reverse=True)
            self._pattern = re.compile("|".join(f"(?P<s{i}_{n}>{form})" for n, (form, i) in enumerate(forms)),
                                       re.IGNORECASE)
        return self._pattern

    def redact(self, text: str) -> str:
        pattern = self._compile()
        if pattern is None or not text:
            return text

        def hide(match: re.Match[str]) -> str:
            group = match.lastgroup or "s0_0"
            return redact_hex(self._by_group[int(group[1:].split("_")[0])])

        return pattern.sub(hide, text)


SECRETS = SecretBook()


def redact_text(text: str, *, reveal: bool = False) -> str:
    """Free text with every registered secret and every 16-octet key dump hidden (unless `reveal`)."""
    if reveal or not text:
        return text
    return _hide_key_octets(SECRETS.redact(text))


def register_install_code(text: str, label: str = "install code") -> None:
    """An install code's bytes (with and without CRC) and its link key in both CRC modes become secrets."""
    from harness.zigbee.installcode import aes_mmo_hash, parse_install_code

    try:
        code = parse_install_code(text, crc_mode="append")
    except ValueError:
        return
    with_crc = code.code + code.crc.to_bytes(2, "little")
    SECRETS.add(code.code, label)
    SECRETS.add(with_crc, label)
    SECRETS.add(aes_mmo_hash(with_crc), f"{label} link key (CRC appended)")
    SECRETS.add(aes_mmo_hash(code.code), f"{label} link key (no CRC)")


def register_rig_secrets(rig: Any) -> None:
    """Every install code a rig names (those it can resolve: an unset variable simply has nothing to hide)."""
    for role in getattr(rig, "devices", {}):
        try:
            code = rig.install_code(role)
        except Exception:  # noqa: BLE001 - an unreadable source is reported by the bench, not here
            continue
        register_install_code(code.hex() + code.crc.to_bytes(2, "little").hex(), label=f"{role} install code")


class RedactingRecordFactory:
    """A logging record factory that redacts each record's message (and traceback) when it is made.

    Installed for the run, it covers every handler at once: pytest's captured logs and live logging, the
    bundle's ezsp.log, a lab's own handlers. Records below a logger's level are never made, so this costs only
    what is logged.
    """

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logging's error to report, not ours
            return record
        cleaned = redact_log_text(redact_text(message))
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return record


def install_log_redaction() -> RedactingRecordFactory:
    factory = RedactingRecordFactory(logging.getLogRecordFactory())
    logging.setLogRecordFactory(factory)
    return factory


def remove_log_redaction(factory: RedactingRecordFactory) -> None:
    if logging.getLogRecordFactory() is factory:
        logging.setLogRecordFactory(factory.previous)
