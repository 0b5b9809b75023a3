"""XML plumbing for DUIS: a parser that keeps line/column per element, and a problem-collecting reader.

Uses the stdlib expat parser (the one ElementTree sits on) so every element keeps the line and column it started
at, and builds plain `xml.etree.ElementTree` elements. DTDs and entity declarations are refused (no need for them in
DUIS, and they are the usual XML-bomb vector).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from xml.parsers import expat

from harness.errors import InputError
from harness.smets.identities import Eui64

if TYPE_CHECKING:
    from harness.smets.duis.signing import DuisSigner

__all__ = [
    "SR_NS",
    "DS_NS",
    "Problem",
    "XmlSyntaxError",
    "MAX_DOCUMENT_BYTES",
    "parse_xml",
    "Reader",
    "sr",
    "local_name",
    "document",
]

SR_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"  # DUIS namespace ([DT] templates)
DS_NS = "http://www.w3.org/2000/09/xmldsig#"  # XML-DSig ([DT] templates)


def sr(name: str) -> str:
    return f"{{{SR_NS}}}{name}"


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the element (path) and what was wrong, with its position if known.

    `response_code` is set when the DCC answers this problem with a DUIS code (e.g. E12 for a Command Variant the SRV
    does not allow) rather than refusing the request as malformed.
    """

    element: str
    message: str
    line: int | None = None
    column: int | None = None
    response_code: str | None = None

    def __str__(self) -> str:
        if self.line is None:
            where = ""
        elif self.column is None:
            where = f" (line {self.line})"
        else:
            where = f" (line {self.line}, column {self.column})"
        return f"{self.element}: {self.message}{where}"


class XmlSyntaxError(InputError):
    def __init__(self, message: str, line: int, column: int) -> None:
        self.reason = message
        self.line = line
        self.column = column
        super().__init__(f"XML syntax error at line {line}, column {column}: {message}")


# Positions live beside the tree (Element has no slot for them); keyed by id() while the tree is alive.
Positions = dict[int, tuple[int, int]]


# A DUIS request or response is a few kB (the largest RTDS template is under 40 kB); 2 MiB leaves room for any
# certificate-laden body while keeping a hostile document from costing more than a fraction of a second.
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024


def parse_xml(text: str | bytes) -> tuple[ET.Element, Positions]:
    """Parse `text`; raise XmlSyntaxError with 1-based line and column on malformed XML. Time is linear in the
    size, and a document over MAX_DOCUMENT_BYTES is refused before parsing."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if len(data) > MAX_DOCUMENT_BYTES:
        raise XmlSyntaxError(f"document is {len(data)} bytes, over the {MAX_DOCUMENT_BYTES}-byte limit", 1, 1)
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    positions: Positions = {}
    stack: list[ET.Element] = []
    root: list[ET.Element] = []

    def _tag(name: str) -> str:
        return "{" + name if "}" in name else name

    def start(name: str, attrs: dict[str, str]) -> None:
        flush()
        elem = ET.Element(_tag(name), {_tag(k): v for k, v in attrs.items()})
        positions[id(elem)] = (parser.CurrentLineNumber, parser.CurrentColumnNumber + 1)
        if stack:
            stack[-1].append(elem)
        else:
            root.append(elem)
        stack.append(elem)

    def end(name: str) -> None:
        flush()
        stack.pop()

    # Text arrives in chunks; joining per chunk would be quadratic in the text's length, so chunks are collected
    # and joined once when the element (or the next child) is reached.
    pending: list[str] = []

    def flush() -> None:
        if not pending or not stack:
            pending.clear()
            return
        data = "".join(pending)
        pending.clear()
        elem = stack[-1]
        if len(elem):
            last = elem[-1]
            last.tail = (last.tail or "") + data
        else:
            elem.text = (elem.text or "") + data

    def chars(data: str) -> None:
        if stack:
            pending.append(data)

    def no_dtd(*_args: object) -> None:
        raise XmlSyntaxError(
            "DTDs and entity declarations are not allowed in a DUIS request",
            parser.CurrentLineNumber,
            parser.CurrentColumnNumber + 1,
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlSyntaxError(expat.ErrorString(exc.code), exc.lineno, exc.offset + 1) from None
    return root[0], positions


class Reader:
    """Reads typed values out of DUIS elements, collecting Problems instead of stopping at the first."""

    def __init__(self, positions: Positions) -> None:
        self.positions = positions
        self.problems: list[Problem] = []

    def problem(self, element: str, message: str, at: ET.Element | None = None, code: str | None = None) -> None:
        line, col = self.positions.get(id(at), (None, None)) if at is not None else (None, None)
        self.problems.append(Problem(element, message, line, col, code))

    def child(self, parent: ET.Element, name: str, *, required: bool = True) -> ET.Element | None:
        found = parent.find(sr(name))
        if found is None and required:
            self.problem(name, f"missing (required in {local_name(parent.tag)})", parent)
        return found

    def text(self, parent: ET.Element, name: str, *, required: bool = True) -> str | None:
        elem = self.child(parent, name, required=required)
        if elem is None:
            return None
        value = (elem.text or "").strip()
        if not value and required:
            self.problem(name, "empty", elem)
            return None
        return value or None

    def eui(self, parent: ET.Element, name: str, *, required: bool = True) -> Eui64 | None:
        value = self.text(parent, name, required=required)
        if value is None:
            return None
        try:
            return Eui64.parse(value)
        except InputError:
            self.problem(name, f"{value!r} is not an EUI-64 (expected e.g. 00-DB-12-34-56-78-90-A0)",
                         parent.find(sr(name)))
            return None

    def boolean(self, parent: ET.Element, name: str, *, required: bool = True) -> bool | None:
        value = self.text(parent, name, required=required)
        if value is None:
            return None
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        self.problem(name, f"{value!r} is not an xs:boolean (true/false)", parent.find(sr(name)))
        return None

    def date_time(self, parent: ET.Element, name: str, *, required: bool = True) -> datetime | None:
        """An xs:dateTime with a time zone (a DUIS timestamp without one is ambiguous)."""
        value = self.text(parent, name, required=required)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.problem(name, f"{value[:40]!r} is not an xs:dateTime with a time zone", parent.find(sr(name)))
            return None
        return parsed

    def integer(self, parent: ET.Element, name: str, *, low: int, high: int, required: bool = True) -> int | None:
        value = self.text(parent, name, required=required)
        if value is None:
            return None
        if not value.isascii() or not value.lstrip("-").isdigit():
            self.problem(name, f"{value!r} is not a whole number", parent.find(sr(name)))
            return None
        number = int(value)
        if not low <= number <= high:
            self.problem(name, f"{number} is out of range {low}..{high}", parent.find(sr(name)))
            return None
        return number

    def digits(self, parent: ET.Element, name: str, *, low: int, high: int, required: bool = True) -> str | None:
        """An MPxN-like digit string of `low`..`high` digits (check digits are the DCC's business, not schema)."""
        value = self.text(parent, name, required=required)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit() and low <= len(value) <= high):
            self.problem(name, f"{value!r} is not {low} to {high} digits", parent.find(sr(name)))
            return None
        return value

    def hex_octets(self, parent: ET.Element, name: str, *, length: int | frozenset[int],
                   required: bool = True) -> bytes | None:
        value = self.text(parent, name, required=required)
        if value is None:
            return None
        at = parent.find(sr(name))
        if not all(c in "0123456789abcdefABCDEF" for c in value):
            self.problem(name, "is not hexadecimal octets", at)
            return None
        if len(value) % 2:
            self.problem(name, f"odd number of hex digits ({len(value)})", at)
            return None
        raw = bytes.fromhex(value)
        allowed = {length} if isinstance(length, int) else length
        if len(raw) not in allowed:
            # Secrets stay out of the message: only the length is reported.
            expected = " or ".join(str(n) for n in sorted(allowed))
            self.problem(name, f"{len(raw)} bytes, expected {expected}", at)
            return None
        return raw


def add(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    elem = ET.SubElement(parent, sr(name))
    if text is not None:
        elem.text = text
    return elem


def document(root: ET.Element, signer: DuisSigner | None = None) -> str:
    """A DUIS document's text: signed by `signer` (compact, as the DCC's signing tool writes it), or unsigned and
    indented for reading. The one writer of requests, responses and alerts."""
    ET.register_namespace("sr", SR_NS)
    ET.register_namespace("ds", DS_NS)
    if signer is not None:
        return signer.sign(ET.tostring(root, encoding="unicode"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def xs_datetime(value: datetime) -> str:
    """xs:dateTime in UTC with a Z, as the RTDS templates write it."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def xs_bool(value: bool) -> str:
    return "true" if value else "false"
