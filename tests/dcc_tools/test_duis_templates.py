"""The DCC's own RTDS request templates (npm @smartdcc/duis-templates 0.7.0) against the DUIS schema, `duis check`
and the requests the harness builds for the same SRV."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.cli import main
from harness.smets.duis import CATALOGUE, DS_NS, parse_request
from tests.dcc_tools.oracle import SCHEMA_DIR, require_schema, require_templates


def test_the_pinned_package_has_the_rtds_templates() -> None:
    templates = require_templates()
    srvs = {ET.parse(t).getroot().findtext(".//{*}ServiceReferenceVariant") for t in templates}
    # The SRVs the harness models must all have at least one DCC template to be compared with.
    assert set(CATALOGUE) <= srvs, sorted(set(CATALOGUE) - srvs)


def test_every_template_is_valid_against_the_duis_schema() -> None:
    schema = require_schema()
    bad = {t.name: [str(p) for p in schema.problems(t.read_bytes())][:2] for t in require_templates()}
    assert not {k: v for k, v in bad.items() if v}


def test_duis_check_accepts_every_template(capsys: pytest.CaptureFixture[str]) -> None:
    require_schema()
    templates = require_templates()
    # The templates carry a placeholder signature (they are to be signed before use): accepted only when asked.
    assert main(["duis", "check", "--schema", str(SCHEMA_DIR), "--allow-unsigned", *map(str, templates)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert out.out.count(": OK (") == len(templates)


def _paths(root: ET.Element) -> list[str]:
    """Element paths in document order, the Signature left out (the templates carry a placeholder one)."""
    found: list[str] = []

    def walk(elem: ET.Element, prefix: str) -> None:
        if elem.tag == f"{{{DS_NS}}}Signature":
            return
        path = f"{prefix}/{elem.tag.rsplit('}', 1)[-1]}"
        found.append(path)
        for child in elem:
            walk(child, path)

    walk(root, "")
    return found


def _catalogue_templates() -> list:
    out = []
    for t in require_templates():
        srv = ET.parse(t).getroot().findtext(".//{*}ServiceReferenceVariant")
        if srv in CATALOGUE:
            out.append(t)
    return out


def test_harness_requests_match_the_templates_element_by_element() -> None:
    schema = require_schema()
    templates = _catalogue_templates()
    assert templates
    for template in templates:
        data = template.read_bytes()
        request = parse_request(data, where=template.name)
        built = request.to_xml()
        assert schema.problems(built) == [], template.name
        assert _paths(ET.fromstring(built)) == _paths(ET.fromstring(data)), template.name
