"""The copies shipped in the package equal the repository's files, so the installed tool runs what the repo tests."""

from pathlib import Path

from harness.fixtures import COVERAGE_DB
from harness.rigs import EMULATED

ROOT = Path(__file__).resolve().parents[2]


def test_packaged_rig_and_coverage_fixture_equal_the_repository_files() -> None:
    assert EMULATED.read_bytes() == (ROOT / "rigs" / "emulated.yaml").read_bytes()
    assert COVERAGE_DB.read_bytes() == (ROOT / "fixtures" / "coverage_db.yaml").read_bytes()
