"""harness/bench/perf_instructions.py: the arithmetic and parsing behind the instruction-count benchmark, and the
one fleet worker's path it counts still running (the benchmark itself is not a test: `make bench-perf-instructions`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.bench import perf_instructions as pi

ROOT = Path(__file__).resolve().parents[1]


def test_the_total_comes_from_the_summary_line_or_the_totals_line(tmp_path: Path) -> None:
    header = tmp_path / "a.out"
    header.write_bytes(b"# callgrind format\nversion: 1\nevents: Ir\nsummary: 8561234567\n\nfn=(1) main\n1 5\n")
    assert pi.callgrind_total(header) == 8_561_234_567
    footer = tmp_path / "b.out"
    footer.write_bytes(b"# callgrind format\nevents: Ir\nfn=(1) main\n1 5\n\ntotals: 7620000000\n")
    assert pi.callgrind_total(footer) == 7_620_000_000
    empty = tmp_path / "c.out"
    empty.write_bytes(b"events: Ir\nfn=(1) main\n")
    with pytest.raises(ValueError, match=r"c\.out: no 'summary:' or 'totals:' line"):
        pi.callgrind_total(empty)


def test_instructions_per_premises_is_the_difference_over_the_extra_premises() -> None:
    assert pi.per_premises((10, 7_000_000_000), (40, 16_450_000_000)) == 315_000_000
    with pytest.raises(ValueError, match="sizes must grow: 40 then 10"):
        pi.per_premises((40, 2), (10, 1))


def test_the_budget_follows_from_the_count_and_the_rate() -> None:
    budget = pi.Budget(instructions_per_premises=300e6, rate_per_core=6e9)
    assert budget.cpu_ms_per_premises == pytest.approx(50.0)
    assert budget.premises_per_s == pytest.approx(40.0)  # 2 cores x 6 G/s over 300 M
    assert budget.needed_rate_per_core == pytest.approx(300e6 * (1000 / 30) / 2)  # 5 G/s
    assert budget.budget_instructions == pytest.approx(2 * 6e9 / (1000 / 30))  # 360 M
    slower = pi.Budget(300e6, 4e9)
    assert slower.premises_per_s < pi.TARGET_PER_S < budget.premises_per_s


def test_the_counted_workload_runs_a_premises_through_the_fleet_worker_path(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness.bench.perf_instructions", "--child", "2", "--in-flight", "2",
                           "--rig", str(ROOT / "rigs/emulated.yaml"), "--root", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["premises"] == 2 and result["passed"] == 2 and result["cpu_s"] > 0


def test_without_valgrind_it_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(pi.shutil, "which", lambda name: None)
    assert pi.main(["--sizes", "2", "4"]) == 2
    assert "apt-get install valgrind" in capsys.readouterr().err


def test_sizes_that_do_not_grow_are_refused_before_anything_runs(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        pi.main(["--sizes", "40", "10"])
    assert exit_info.value.code == 2
    assert "--sizes 40 10: two growing positive sizes" in capsys.readouterr().err
