"""`make bench-perf-fleet`'s table, run small: every row states its rate against the target and where bundles went."""

from __future__ import annotations

import pytest

from harness.bench.perf_fleet import main
from tests.fleet.premises_rigs import EMULATED_RIG

pytestmark = pytest.mark.timeout(180)


def test_the_benchmark_prints_a_row_per_path_with_the_target_and_the_staging(capsys):
    assert main(["--sizes", "2", "--cbke", "off", "--frame-log", "off", "deferred", "--layers", "0",
                 "--rig", str(EMULATED_RIG)]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.split()[:2] == ["loop", "off"]]
    assert [row[2] for row in rows] == ["off", "deferred"]
    assert all(row[3] == "2" and row[-1] == "0" for row in rows)  # two premises each, none failed
    assert "target: 1,000 premises in <= 30 s on 2 cores = 33.3 premises/s" in out
    assert "bundles staged in: " in out and "domain-only path" in out
