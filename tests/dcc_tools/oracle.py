"""The DCC's published tools as test oracles, installed by `make dcc-tools` into `.cache/dcc-tools/`.

* `@smartdcc/duis-sign-wrap` 0.1.2: its `dist/tool.jar` (extracted to `tool-jar/`) carries DUIS Schema V5.1, MMC
  Schema V5.1, the xmldsig schema and the DCC Boxed test signing keys.
* `@smartdcc/duis-templates` 0.7.0: the RTDS DUIS request templates.
* `@smartdcc/dccboxed-keystore` 0.4.2: DCC Boxed test certificates and keys (`keystore.json`).
* Java (`java` on the PATH, `make java`) runs the signing tool itself: `java -cp tool.jar ...Sign|Validate`.

Missing tools skip the test and say why; with SMETS2_REQUIRE_DCC_TOOLS=1 (CI) they FAIL it instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / ".cache" / "dcc-tools"
TEMPLATES = ROOT / "smartdcc-duis-templates-0.7.0" / "package" / "templates"
SCHEMA_DIR = ROOT / "tool-jar"
KEYSTORE_FILE = ROOT / "smartdcc-dccboxed-keystore-0.4.2" / "package" / "keystore.json"
TOOL_JAR = ROOT / "smartdcc-duis-sign-wrap-0.1.2" / "package" / "dist" / "tool.jar"
TOOL_PACKAGE = "uk.co.smartdcc.boxed.xmldsig"  # the classes Sign and Validate (dccboxed-signing-tool README)
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


def require_keystore():  # noqa: ANN201 - harness.smets.duis.Keystore
    from harness.dcc_keystore import KeystoreUnavailable, load_dcc_keystore

    try:
        return load_dcc_keystore(KEYSTORE_FILE)
    except KeystoreUnavailable:
        _missing("@smartdcc/dccboxed-keystore 0.4.2")


@dataclass(frozen=True)
class ToolRun:
    returncode: int  # 0 ok, 2 application error, 3 missing key material, 10 XSD or signature check failed
    stdout: str
    stderr: str


@dataclass(frozen=True)
class SigningTool:
    """The DCC's signing tool (dccboxed-signing-tool, in @smartdcc/duis-sign-wrap 0.1.2), run as its wrapper runs
    it: `java -cp tool.jar uk.co.smartdcc.boxed.xmldsig.<Sign|Validate> - [--preserveCounter]`, XML on stdin."""

    java: str
    jar: Path

    def run(self, mode: str, xml: str | bytes, *extra: str) -> ToolRun:
        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        done = subprocess.run([self.java, "-cp", str(self.jar), f"{TOOL_PACKAGE}.{mode}", "-", *extra], input=data,
                              capture_output=True, timeout=120, check=False)
        return ToolRun(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace"))

    def sign(self, xml: str | bytes) -> ToolRun:
        return self.run("Sign", xml, "--preserveCounter")

    def validate(self, xml: str | bytes) -> ToolRun:
        return self.run("Validate", xml)


def require_signing_tool() -> SigningTool:
    if not TOOL_JAR.is_file():
        _missing("@smartdcc/duis-sign-wrap 0.1.2 (dist/tool.jar)")
    java = shutil.which("java")
    if java is None:
        _missing("java (the DCC signing tool is a Java program: `make java`)")
    return SigningTool(java, TOOL_JAR)
