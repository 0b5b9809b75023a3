"""Secrets never leave unasked: plant the rig's install codes and keys (and the network/TC keys the coordinator
formed with) in every way a scenario or a library might print them, then grep every byte the run produced, for a
passing and a failing scenario. Only the key table (owner-only) may hold them."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from harness.zigbee.installcode import aes_mmo_hash, parse_install_code

CLI = str(Path(sys.executable).with_name("smets2-harness"))
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)

ESME_CODE = "83FED3407A939723A5C639B26916D505"  # rigs/emulated.yaml

LEAKY = '''
import logging
import pytest
from harness.bench import steps

CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505")

def _spill(bench, esme):
    info = bench.coordinator.app.state.network_info
    nwk, tc = bytes(info.network_key.key), bytes(info.tc_link_key.key)
    link = esme.link_key if hasattr(esme, "link_key") else None
    log = logging.getLogger("bellows.lab")
    for secret in (CODE, nwk, tc):
        log.warning("key %s", secret.hex())
        log.debug("key %s", ":".join(f"{b:02X}" for b in secret))
        print("stdout", secret.hex().upper(), secret)
        bench.evidence.timeline.record("note", text="planted " + "-".join(f"{b:02x}" for b in secret))
    return nwk, tc

async def test_passing_leaky(bench):
    esme = bench.device("esme")
    steps.install_with_wan(bench, esme)
    await steps.whitelist_and_join(bench, bench.supplier_for(esme), esme)
    _spill(bench, esme)

async def test_failing_leaky(bench):
    esme = bench.device("esme")
    nwk, tc = _spill(bench, esme)
    try:
        raise RuntimeError(f"install code {CODE.hex()} network key {nwk!r}")
    except RuntimeError:
        logging.getLogger("zigpy.lab").exception("boom")
    assert False, f"code {CODE.hex(' ')} nwk {nwk.hex(':')} tc {tc.hex().upper()} reversed {nwk[::-1].hex()}"
'''


def forms(secret: bytes) -> list[str]:
    out = []
    for octets in (secret, secret[::-1]):
        h = octets.hex()
        out += [h, h.upper(), ":".join(h[i:i + 2] for i in range(0, len(h), 2)),
                " ".join(h[i:i + 2] for i in range(0, len(h), 2)), "-".join(h[i:i + 2] for i in range(0, len(h), 2))]
    return [f.lower() for f in out]


def test_no_secret_in_any_byte_the_run_produced(tmp_path: Path) -> None:
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "test_leaky.py").write_text(LEAKY)
    reports = tmp_path / "reports"
    result = subprocess.run([CLI, "run", "--rig", str(ROOT / "rigs" / "emulated.yaml"), "--report-dir", str(reports),
                             "--scenarios", str(lab), "--", "-o", "log_level=DEBUG", "-rA"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=280)
    assert result.returncode == 1  # one passes, one fails
    assert "1 of 2 scenarios passed, 1 failed" in result.stdout
    [run_dir] = [p for p in reports.iterdir() if p.is_dir()]
    code = parse_install_code(ESME_CODE)
    secrets = {"install code": code.code, "install code + CRC": code.code + code.crc.to_bytes(2, "little"),
               "link key": aes_mmo_hash(code.code + code.crc.to_bytes(2, "little"))}
    # The network and TC keys are random per run, so they are checked where they were planted (below).
    everything = {"stdout": result.stdout, "stderr": result.stderr}
    key_tables = []
    for path in run_dir.rglob("*"):
        if path.is_file():
            if path.name.endswith(".zigbee_pc_keys"):
                key_tables.append(path)
                continue
            everything[str(path)] = path.read_bytes().decode("latin-1")
    assert key_tables, "the pcap key table must exist"
    for table in key_tables:
        assert stat.S_IMODE(table.stat().st_mode) == 0o600
        assert secrets["link key"].hex().upper() in table.read_text()  # Wireshark needs it
    for where, text in everything.items():
        low = text.lower()
        for label, secret in secrets.items():
            for form in forms(secret):
                assert form not in low, f"{label} ({form}) leaked into {where}"
    # The planted network/TC keys were redacted where they were planted (the markers survive, the hex does not).
    assert "<redacted 16 bytes" in result.stdout
    assert "planted <redacted" in "".join(v for k, v in everything.items() if k.endswith("timeline.jsonl"))
    record = next(v for k, v in everything.items() if k.endswith("record.json") and "failing" in k)
    assert "network key <redacted" in record or "nwk <redacted" in record
    assert "secret_files" in record and "zigbee_pc_keys" in record
    assert "secret material" in (run_dir / "report.html").read_text()
