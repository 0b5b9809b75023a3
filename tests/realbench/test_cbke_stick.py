"""CBKE on a `kind: serial` coordinator: a persistent emulated stick (`emulate ncp --cbke`: suite-2 CBKE data in
its manufacturing tokens, its meters carrying certificates from the same test CA) stands in for an SE stick and
real SMETS2 meters. `rig check` names the stick's certificate issuer; `run` finds the data on the stick (the same
getCertificate283k1 a real stick answers), runs CBKE for the meter that joins, and prints the join by install code
and the CBKE with its duration."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.realbench.stick import CLI, ROOT, real_style_rig, start_stick

pytestmark = pytest.mark.timeout(300)


def test_a_stick_with_cbke_data_runs_cbke_for_a_real_style_meter(tmp_path: Path) -> None:
    stick = start_stick(tmp_path / "nv.json", extra=("--cbke",))
    try:
        issuer = re.search(r"CBKE suite 2: test CA issuer ([0-9A-F]{16})", "".join(stick.output))
        assert issuer is not None, stick.output
        issuer_hex = issuer.group(1)
        rig = real_style_rig(tmp_path / "rig.yaml", stick, roles=("esme",))
        check = subprocess.run([CLI, "rig", "check", str(rig), "--json"], capture_output=True, text=True, cwd=ROOT,
                               timeout=120)
        cbke = {c["item"]: c for c in json.loads(check.stdout)["checks"]}["coordinator.cbke"]
        assert cbke["status"] == "pass", cbke
        assert f"certificate issuer {issuer_hex}, subject 00DB1234567890A2" in cbke["message"]

        reports = tmp_path / "reports"
        run = subprocess.run([CLI, "run", "--rig", str(rig), "--report-dir", str(reports), "-k", "standard_install",
                              "--operator", f"emulated:{stick.control}"],
                             capture_output=True, text=True, cwd=ROOT, timeout=240)
    finally:
        assert stick.stop() == 0, "".join(stick.output)  # strict: bellows sent nothing the emulator lacks
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    joins = run.stdout.split("HAN joins:", 1)[-1]
    assert re.search(r"00-DB-12-34-56-78-90-A0 joined by install code \([\d.]+ s after the permit\), CBKE suite 2 "
                     rf"done in [\d.]+ s \(issuer {issuer_hex}, subject 00DB1234567890A0\)", joins), run.stdout
    [record] = [json.loads(p.read_text()) for p in reports.glob("run-*/*/record.json")]
    assert record["provenance"]["coordinator_cbke"]["issuer"] == issuer_hex
    assert any(m["name"] == "cbke_duration.00-DB-12-34-56-78-90-A0" and m["value"] > 0
               for m in record["measurements"])
