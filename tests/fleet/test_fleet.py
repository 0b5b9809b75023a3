"""Fleet mode: seeded parameters, per-premises records, summary, plot, and one failure never stopping the others."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli import main
from harness.fleet import plot
from harness.fleet.nv_template import formed_nv_template
from harness.fleet.params import CONTROLS, draw, draw_fleet
from harness.fleet.story import run_premises
from harness.fleet.summary import percentile, summarise, table
from harness.rig import load_rig
from tests.fleet.premises_rigs import EMULATED_RIG

pytestmark = pytest.mark.timeout(180)


def test_the_same_seed_draws_the_same_premises_whatever_the_fleet_size():
    assert draw_fleet(7, 50)[17] == draw_fleet(7, 2000)[17] == draw(7, 17)
    assert draw(7, 17) != draw(8, 17)
    fleet = draw_fleet(3, 400, control_rate=0.5)
    assert {p.control for p in fleet} == {None, *CONTROLS}
    assert len({p.esme_eui64 for p in fleet}) == len({p.hub_eui64 for p in fleet}) == 400
    assert all(p.cos_day < p.wan_outage_days for p in fleet)
    assert any(p.wan_outage_days > 90 for p in fleet)  # some premises must miss the 90-day measure


def test_secrets_are_redacted_in_the_parameters_record():
    params = draw(1, 1)
    shown = params.to_json()
    assert params.install_code not in json.dumps(shown) and params.network_key not in json.dumps(shown)
    assert params.to_json(reveal_secrets=True)["install_code"] == params.install_code


def test_percentiles_are_nearest_rank_values():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0 and percentile([], 50) is None
    summary = summarise([
        {"index": 0, "outcome": "passed", "control": None, "join_latency_s": 0.5, "commissioning_days": 40,
         "first_connectivity_met": True},
        {"index": 1, "outcome": "failed", "control": None, "cause": "JoinTimeout"},
        {"index": 2, "outcome": "passed", "control": "wrong_code"},
    ], wall_s=2.0, workers=1, seed=0)
    assert summary["failed_by_cause"] == {"JoinTimeout": 1}
    assert summary["controls"] == {"wrong_code": {"run": 1, "passed": 1}}
    assert summary["first_connectivity_90_days"] == {"met": 1, "missed": 0}
    assert summary["premises_per_s"] == 1.5
    assert "JoinTimeout" in table(summary)


def test_the_plot_is_standalone_svg():
    svg = plot.render([10.0, 45.5, 45.9, 120.0], [0.5, 0.7, 1.0, 2.0], title="t")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    bars = [e for e in root.iter() if e.tag.endswith("rect") and e.get("fill") == "#3b6ea8"]
    assert len(bars) == 3  # days 10, 45 (two premises), 120
    assert any(e.tag.endswith("polyline") for e in root.iter())


async def test_a_failing_premises_is_recorded_and_the_others_complete(tmp_path):
    rig = load_rig(EMULATED_RIG)
    template = await formed_nv_template(13, rig.hub.eui64.replace("-", ":"))
    good = draw(5, 1, control_rate=0.0)
    wrong = dataclasses.replace(draw(5, 2, control_rate=1.0), control="wrong_code")
    broken = dataclasses.replace(draw(5, 3, control_rate=0.0), esme_eui64="not-an-eui64")
    records = await asyncio.gather(*(
        run_premises(rig, p, tmp_path, keep_if_passed=False, nv_template=template, no_join_window=1.5)
        for p in (good, wrong, broken)))
    by_index = {r["index"]: r for r in records}
    assert by_index[1]["outcome"] == "passed" and by_index[1]["commissioning_days"] > by_index[1]["cos_day"]
    assert by_index[1]["bundle"] is None and not (tmp_path / "premises-00001").exists()  # passing, not sampled
    assert by_index[2]["outcome"] == "passed"  # the control: the mistyped code is refused on the air
    assert "transport key" in by_index[2]["refusal"].lower() or "mic" in by_index[2]["refusal"].lower()
    assert by_index[3]["outcome"] == "failed" and by_index[3]["cause"]
    bundle = tmp_path / by_index[3]["bundle"]
    assert json.loads((bundle / "record.json").read_text())["outcome"] == "failed"


def test_fleet_command_writes_records_summary_and_plot(tmp_path, capsys):
    out = tmp_path / "fleet"
    status = main(["fleet", "--rig", str(EMULATED_RIG), "--premises", "6", "--workers", "2", "--seed", "11",
                   "--sample-every", "3", "--out", str(out)])
    text = capsys.readouterr().out
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    assert status == (0 if summary["failed"] == 0 else 1)
    assert sorted(r["index"] for r in records) == list(range(6))
    assert summary["premises"] == 6 and summary["passed"] + summary["failed"] == 6
    assert "commissioning (virtual days)" in text and "90-day first-connectivity measure" in text
    ET.parse(out / "fleet.svg")
    kept = {r["bundle"] for r in records if r["bundle"]}
    # the sample of passing premises (and any failed one); bundle folders end in a hash of the whole id
    assert {"premises-00000", "premises-00003"} <= {name.rsplit("-", 1)[0] for name in kept}
    for name in kept:
        assert (out / "premises" / name / "record.json").exists()
        log = (out / "premises" / name / "ezsp.log").read_text()
        # the default frame log: every EZSP command and response, no line per ASH frame
        assert "Sending command  networkInit" in log and "Received command permitJoining" in log
        assert "bellows.ash" not in log
    assert summary["frame_log"] == "deferred" and ", frame log deferred" in text


def test_the_ash_frame_log_keeps_a_line_per_frame_and_a_bad_mode_is_refused(tmp_path, capsys):
    out = tmp_path / "fleet"
    assert main(["fleet", "--rig", str(EMULATED_RIG), "--premises", "1", "--workers", "1", "--control-rate", "0",
                 "--sample-every", "1", "--frame-log", "deferred-ash", "--out", str(out)]) == 0
    (bundle,) = (out / "premises").iterdir()
    log = (bundle / "ezsp.log").read_text()
    assert "bellows.ash Sending frame DataFrame(" in log and "bellows.ash Received frame DataFrame(" in log
    assert "bellows.ash Sending frame AckFrame(" in log  # bellows ACKs each of our DATA frames
    assert "Sending command  networkInit" in log
    from harness.fleet.runner import FleetOptions, run_fleet
    with pytest.raises(ValueError, match="fleet frame_log='full': expected one of deferred, deferred-ash, off"):
        run_fleet(FleetOptions(rig=str(EMULATED_RIG), premises=1, out=str(tmp_path / "x"), frame_log="full"))


def test_fleet_refuses_a_rig_it_cannot_replicate(tmp_path, capsys):
    rig = tmp_path / "real.yaml"
    rig.write_text(EMULATED_RIG.read_text().replace("kind: emulated\n  ezsp_version: 13\n  transport: pty\n  strict: true            # any EZSP command the emulator has no handler for fails the run\n",
                                                     "kind: serial\n  port: /dev/serial/by-id/usb-x\n", 1))
    assert main(["fleet", "--rig", str(rig), "--premises", "2"]) == 2
    assert "fleet mode needs an emulated coordinator" in capsys.readouterr().err


def test_top_level_help_imports_neither_bellows_nor_zigpy():
    import subprocess
    import sys
    code = ("import sys, harness.cli as c\ntry:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('LOADED', [m for m in ('bellows', 'zigpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "fleet" in out and "LOADED []" in out


def _timeline(bundle: Path) -> list[dict]:
    return [json.loads(line) for line in (bundle / "timeline.jsonl").read_text().splitlines()]


def test_the_fleet_runs_cbke_under_one_run_ca_over_the_in_process_line(tmp_path, capsys):
    out = tmp_path / "fleet"
    assert main(["fleet", "--rig", str(EMULATED_RIG), "--premises", "3", "--workers", "1", "--seed", "4",
                 "--control-rate", "0", "--sample-every", "1", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cbke"] is True and summary["transport"] == "loop"
    assert summary["event_loop"] == "uvloop"  # a pinned dependency on this platform, so auto picks it
    from harness.fleet.worker import GC_THRESHOLDS
    # the worker process ran with the fleet's collector settings: its start frozen, full collections rarer
    assert summary["memory"]["gc"]["thresholds"] == list(GC_THRESHOLDS)
    assert summary["memory"]["gc"]["frozen_objects"] > 10_000
    assert summary["memory"]["gc"]["middle_collections"] == 0  # 3 premises: far from GC_THRESHOLDS[1] young ones
    from harness.zigbee.cbke import curve
    assert summary["curve_backend"] == curve.backend_name() != ""  # tests/zigbee/conftest.py demands libcrypto in CI
    printed = capsys.readouterr().out
    assert (f"path: bellows over the loop line, CBKE on (curve: {summary['curve_backend']}), uvloop event loop"
            in printed)
    from harness import interpreter
    assert summary["interpreter"] == interpreter.this_build().label() and sys.executable in summary["interpreter"]
    assert f"interpreter: {summary['interpreter']}" in printed
    bundles = sorted((out / "premises").iterdir())
    assert len(bundles) == 3
    for bundle in bundles:
        record = json.loads((bundle / "record.json").read_text())
        # the record written by coalesced saves is the whole record: the verdict and the last measurement
        assert record["outcome"] == "passed"
        assert any(m["name"] == "premises_wall_time" for m in record["measurements"])
        assert record["provenance"]["coordinator"]["port"] == "emulated (loop)"
        assert record["provenance"]["cbke_ca"]["issuer"] == summary["cbke_ca"]["issuer"]  # one CA for the run
        assert record["provenance"]["cbke_ca"]["curve_backend"] == summary["curve_backend"]
        cbke = [e for e in _timeline(bundle) if e["kind"] == "han.cbke"]
        assert cbke and all(e["success"] for e in cbke)
        assert any(m["name"].startswith("cbke_duration.") for m in record["measurements"])


def test_cbke_off_runs_the_story_without_key_establishment_and_says_so(tmp_path, capsys):
    out = tmp_path / "fleet"
    assert main(["fleet", "--rig", str(EMULATED_RIG), "--premises", "2", "--workers", "1", "--seed", "4",
                 "--control-rate", "0", "--sample-every", "1", "--cbke", "off", "--transport", "pty",
                 "--event-loop", "asyncio", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cbke"] is False and summary["transport"] == "pty" and "cbke_ca" not in summary
    assert summary["event_loop"] == "asyncio"
    assert "path: bellows over the pty line, CBKE off, asyncio event loop" in capsys.readouterr().out
    for bundle in sorted((out / "premises").iterdir()):
        record = json.loads((bundle / "record.json").read_text())
        assert record["outcome"] == "passed"
        assert record["provenance"]["coordinator"]["port"] == "emulated (pty)"
        assert "cbke_ca" not in record["provenance"]
        kinds = [e["kind"] for e in _timeline(bundle)]
        assert "cbke.off" in kinds and "han.cbke" not in kinds and "cbke.enabled" not in kinds


def test_fleet_refuses_the_se_vector_certificates_it_cannot_give_every_premises(tmp_path, capsys):
    rig = EMULATED_RIG.with_name("emulated-se-vectors.yaml")
    assert main(["fleet", "--rig", str(rig), "--premises", "2", "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert "coordinator.cbke_credentials: se-test-vectors" in err and "--cbke off" in err
    assert not (tmp_path / "f").exists()  # refused before any premises ran
