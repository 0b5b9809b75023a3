"""The DCC's DUIS XML Schema: find it on disk, load it with lxml, validate documents against it.

The schema is the DCC's own (DUIS Schema V5.1 with MMC Schema V5.1 and the W3C xmldsig schema), as shipped inside
the DCC's signing tool: npm `@smartdcc/duis-sign-wrap` 0.1.2, `dist/tool.jar`. `make dcc-tools` extracts the jar
into `.cache/dcc-tools/tool-jar/`; nothing of it is copied into the repository. This module does the file I/O, so it
lives beside `coverage_file.py`, outside the pure `harness/smets/` domain.

Where the schema is looked for, first hit wins: an explicit directory (`duis check --schema DIR`), then
`$SMETS2_DUIS_SCHEMA_DIR`, then `.cache/dcc-tools/tool-jar/` under the current directory and under the source tree
this package was installed from. A clear `SchemaUnavailable` says where it looked when none has the files.

Why lxml: libxml2 is the one XSD 1.0 validator in reach of Python that loads the DCC's 240 kB schemas at once and
names the line of every error; the stdlib has no XSD validator. The three schemas are loaded through a small
wrapper that imports each by its file URI, because libxml2 does not resolve the DUIS schema's own
`schemaLocation="MMC Schema V5.1.xsd"` (a file name with spaces) and would silently drop the MMC types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from harness.errors import InputError
from harness.smets.duis.xmlbits import DS_NS, SR_NS, Problem
from harness.tool_cache import find_tool_path

__all__ = ["SCHEMA_ENV", "SCHEMA_FILES", "SchemaUnavailable", "DuisSchema", "find_schema_dir", "load_schema"]

SCHEMA_ENV = "SMETS2_DUIS_SCHEMA_DIR"
RA_NS = "http://www.dccinterface.co.uk/ResponseAndAlert"
# (namespace, file name inside tool.jar)
SCHEMA_FILES = (
    (DS_NS, "xmldsig-core-schema.xsd"),
    (RA_NS, "MMC Schema V5.1.xsd"),
    (SR_NS, "DUIS Schema V5.1.xsd"),
)
_CACHE_SUBDIR = Path(".cache") / "dcc-tools" / "tool-jar"
_ELEMENT = re.compile(r"Element '([^']+)'")
_EXCERPT = 60  # characters of a bad value quoted back, at most


class SchemaUnavailable(InputError):
    """The DUIS schema files are not where they were looked for."""


def _has_schema(directory: Path) -> bool:
    return all((directory / name).is_file() for _, name in SCHEMA_FILES)


def find_schema_dir(explicit: str | Path | None = None) -> Path:
    """The directory holding the DUIS, MMC and xmldsig schemas (see the module docstring for the search order)."""
    found, looked = find_tool_path(explicit, option="--schema", env=SCHEMA_ENV, cache_path=_CACHE_SUBDIR,
                                   present=_has_schema)
    if found is not None:
        return found
    names = ", ".join(name for _, name in SCHEMA_FILES)
    raise SchemaUnavailable(
        f"the DUIS schema ({names}) was not found (looked in {looked}). Run `make dcc-tools`, which extracts it from "
        f"npm @smartdcc/duis-sign-wrap 0.1.2 dist/tool.jar, or pass --schema DIR / set {SCHEMA_ENV}",
        where="DUIS schema",
    )


def _excerpt(message: str) -> str:
    """libxml2 quotes the offending value in full; keep only a short excerpt of it (values may be secrets)."""
    out, i = [], 0
    while (start := message.find("'", i)) != -1:
        end = message.find("'", start + 1)
        if end == -1:
            break
        value = message[start + 1:end]
        out.append(message[i:start + 1])
        out.append(value if len(value) <= _EXCERPT else value[:_EXCERPT] + "...")
        out.append("'")
        i = end + 1
    out.append(message[i:])
    return "".join(out)


def _clean(message: str) -> str:
    """libxml2 names elements as {namespace}Name; DUIS users know them as sr:Name / ds:Name."""
    for ns, prefix in ((SR_NS, "sr:"), (DS_NS, "ds:"), (RA_NS, "ra:")):
        message = message.replace("{" + ns + "}", prefix)
    return _excerpt(message)


@dataclass(frozen=True)
class DuisSchema:
    """A loaded DUIS schema; `problems(xml)` lists every schema violation as a Problem with element and line."""

    directory: Path
    _schema: object  # lxml.etree.XMLSchema

    def problems(self, xml: bytes | str) -> list[Problem]:
        from lxml import etree

        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        parser = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False, huge_tree=False)
        try:
            doc = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as exc:
            line = exc.position[0] if exc.position else None
            col = exc.position[1] + 1 if exc.position else None
            return [Problem("XML", f"not well-formed: {_clean(exc.msg)}", line, col)]
        schema = self._schema
        if schema.validate(doc):  # type: ignore[attr-defined]
            return []
        found = []
        for err in schema.error_log:  # type: ignore[attr-defined]
            message = _clean(err.message)
            named = _ELEMENT.match(message)
            element = named.group(1) if named else "document"
            found.append(Problem(element, message.removeprefix(f"Element '{element}': "), err.line,
                                 err.column + 1 if err.column else None))
        return found

    def is_valid(self, xml: bytes | str) -> bool:
        return not self.problems(xml)


def _file_uri(path: Path) -> str:
    return "file://" + quote(str(path.resolve()))


@lru_cache(maxsize=4)
def _load(directory: Path) -> DuisSchema:
    from lxml import etree

    imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{_file_uri(directory / name)}"/>'
                      for ns, name in SCHEMA_FILES)
    wrapper = ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
               f'targetNamespace="urn:smets2-harness:duis-schema-set">{imports}</xs:schema>')
    try:
        schema = etree.XMLSchema(etree.fromstring(wrapper))
    except etree.XMLSchemaParseError as exc:
        raise SchemaUnavailable(f"the schema files in {directory} do not load: {exc}", where="DUIS schema") from None
    return DuisSchema(directory, schema)


def load_schema(directory: str | Path | None = None) -> DuisSchema:
    """Find and load the DUIS schema (cached per directory)."""
    return _load(find_schema_dir(directory).resolve())
