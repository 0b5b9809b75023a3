"""The DCC's published tools as test oracles, installed by `make dcc-tools` into `.cache/dcc-tools/`.

* `@smartdcc/duis-sign-wrap` 0.1.2: its `dist/tool.jar` (extracted to `tool-jar/`) carries DUIS Schema V5.1, MMC
  Schema V5.1, the xmldsig schema and the DCC Boxed test signing keys.
* `@smartdcc/duis-templates` 0.7.0: the RTDS DUIS request templates.
* `@smartdcc/dccboxed-keystore` 0.4.2: DCC Boxed test certificates and keys.

Missing tools skip the test and say why; with SMETS2_REQUIRE_DCC_TOOLS=1 (CI) they FAIL it instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / ".cache" / "dcc-tools"
TEMPLATES = ROOT / "smartdcc-duis-templates-0.7.0" / "package" / "templates"
SCHEMA_DIR = ROOT / "tool-jar"
REQUIRE_ENV = "SMETS2_REQUIRE_DCC_TOOLS"


def _missing(what: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {what} is not installed (run `make dcc-tools`)", pytrace=False)
    pytest.skip(f"{what} not installed: `make dcc-tools` (part of `make test`) fetches it with npm")


def require_schema():  # noqa: ANN201 - harness.duis_schema.DuisSchema
    try:
        import lxml  # noqa: F401
    except ImportError:
        _missing("lxml")
    from harness.duis_schema import SchemaUnavailable, load_schema

    try:
        return load_schema(SCHEMA_DIR)
    except SchemaUnavailable:
        _missing("the DUIS schema from @smartdcc/duis-sign-wrap 0.1.2")


def request_templates() -> list[Path]:
    """Every RTDS request template of the pinned package (empty if not installed: the tests then skip/fail)."""
    return sorted(TEMPLATES.glob("*REQUEST_DUIS.XML")) if TEMPLATES.is_dir() else []


def require_templates() -> list[Path]:
    found = request_templates()
    if not found:
        _missing("@smartdcc/duis-templates 0.7.0")
    return found
