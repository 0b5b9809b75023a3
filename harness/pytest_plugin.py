"""pytest plugin (entry point `pytest11`): bench options and the `sec` marker.

The bench fixtures (rig, bench, dcc, hub, meters, wan, clock, suppliers) are added by the bench layer.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smets2-harness")
    group.addoption("--rig", default="rigs/emulated.yaml", help="rig file to run the bench on")
    group.addoption("--report-dir", default="reports", help="where evidence bundles and the report go")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sec(ref, ...): the SEC clause or modification this test proves (recorded in the results)"
    )
