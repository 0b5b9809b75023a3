"""The rig's `sniffer:` role on a real-style rig (the emulated NCP over tcp:// in its own process): a pcap file a
capture tool is writing (here the emulator's own radio capture) and a `tshark -r ... -w -` pipe land in each
scenario's bundle with a key table, and tshark, the independent decoder, decrypts the join with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.bench import steps
from harness.bench.bench import Bench
from harness.drivers.operator import ScriptedOperator
from harness.drivers.sniffer import CommandCapture, PcapFileCapture
from harness.errors import RigError
from harness.evidence.bundle import EvidenceBundle
from harness.evidence.pcap import read_pcap
from harness.rig import load_rig
from tests.realbench.stick import DEVICES, real_style_rig, start_stick
from tests.zigbee.tshark import require_tshark, run_fields

pytestmark = pytest.mark.timeout(120)
FIELDS = ["frame.number", "zbee_aps.cmd.id", "zbee_aps.cmd.dst", "zbee_sec.encrypted_payload"]
ESME = DEVICES["esme"][0].lower().replace("-", ":")


async def _join_once(rig_path: Path, run: Path, name: str) -> Path:
    rig = load_rig(rig_path)
    evidence = EvidenceBundle(run, f"tests/x.py::{name}")
    bench = await Bench.start(rig, evidence, operator=ScriptedOperator())
    try:
        esme = bench.device("esme")
        steps.install_with_wan(bench, esme)
        await steps.whitelist_and_join(bench, bench.installing_supplier, esme)
    finally:
        await bench.stop()
    evidence.close("passed")
    return evidence.dir


def _keys(bundle: Path) -> list[tuple[bytes, str]]:
    lines = (bundle / "capture.pcap.zigbee_pc_keys").read_text().splitlines()
    return [(bytes.fromhex(line.split(",")[0].strip('"')), line.split(",")[2].strip('"')) for line in lines]


async def test_pcap_file_source_lands_in_each_bundle_with_a_key_table_tshark_decrypts(tmp_path: Path) -> None:
    tshark = require_tshark()
    air = tmp_path / "air.pcap"
    stick = start_stick(tmp_path / "nv.json", control=False, devices={"esme": DEVICES["esme"]}, pcap=air)
    try:
        rig = real_style_rig(tmp_path / "rig.yaml", stick, roles=("esme",),
                             extra=f"sniffer:\n  kind: pcap\n  path: {air}\n  channel: 15\n")
        first = await _join_once(rig, tmp_path / "run", "first")
        second = await _join_once(rig, tmp_path / "run", "second")
    finally:
        stick.stop()
    _, on_air = read_pcap(air)
    for bundle in (first, second):
        record = json.loads((bundle / "record.json").read_text())
        assert record["files"]["pcap"] == "capture.pcap" and record["files"]["sniffer_keys"]
        assert record["provenance"]["sniffer"]["source"] == f"pcap {air}"
        assert any("network key" in label for _, label in _keys(bundle))
        frames = run_fields(tshark, bundle / "capture.pcap", FIELDS, _keys(bundle))
        # The ESME's join is in this scenario's capture and decrypts: the Transport Key to the ESME.
        assert [f for f in frames if f["zbee_aps.cmd.id"] == "0x05" and f["zbee_aps.cmd.dst"] == ESME]
        assert all(f["zbee_sec.encrypted_payload"] == "" for f in frames)  # nothing left undecrypted
    _, first_frames = read_pcap(first / "capture.pcap")
    _, second_frames = read_pcap(second / "capture.pcap")
    # Each bundle holds its own scenario's frames only: together they are the air, in order, with no overlap.
    assert first_frames and second_frames and second_frames[0].timestamp >= first_frames[-1].timestamp
    assert len(first_frames) + len(second_frames) <= len(on_air)
    air_frames = [(r.timestamp, r.data) for r in on_air]
    first_at = _slice_at(air_frames, [(r.timestamp, r.data) for r in first_frames])
    second_at = _slice_at(air_frames, [(r.timestamp, r.data) for r in second_frames])
    assert second_at >= first_at + len(first_frames)


def _slice_at(whole: list, part: list) -> int:
    """Where `part` sits, contiguous, in `whole` (a capture copied record for record, none lost in between)."""
    for i in range(len(whole) - len(part) + 1):
        if whole[i : i + len(part)] == part:
            return i
    raise AssertionError("the bundle's frames are not a contiguous run of the capture file's")


async def test_a_tshark_read_pipe_is_a_sniffer_source(tmp_path: Path) -> None:
    tshark = require_tshark()
    air = tmp_path / "air.pcap"
    lab = tmp_path / "lab.pcap"
    stick = start_stick(tmp_path / "nv.json", control=False, devices={"esme": DEVICES["esme"]}, pcap=air)
    try:
        rig = real_style_rig(tmp_path / "rig.yaml", stick, roles=("esme",))
        await _join_once(rig, tmp_path / "run", "record")
        lab.write_bytes(air.read_bytes())  # a lab's earlier capture, replayed through tshark as the source
        piped = real_style_rig(tmp_path / "piped.yaml", stick, roles=("esme",),
                               extra=f"sniffer:\n  kind: command\n  command: {tshark} -r {lab} -F pcap -w -\n")
        bundle = await _join_once(piped, tmp_path / "run", "piped")
    finally:
        stick.stop()
    _, source_frames = read_pcap(lab)
    _, bundled = read_pcap(bundle / "capture.pcap")
    assert len(bundled) == len(source_frames) > 0
    assert [r.data for r in bundled] == [r.data for r in source_frames]
    record = json.loads((bundle / "record.json").read_text())
    assert record["provenance"]["sniffer"]["frames"] == len(source_frames)
    assert record["provenance"]["sniffer"]["linktype"] == 195
    frames = run_fields(tshark, bundle / "capture.pcap", FIELDS, _keys(bundle))
    assert [f for f in frames if f["zbee_aps.cmd.id"] == "0x05" and f["zbee_aps.cmd.dst"] == ESME]

    pcapng = CommandCapture(f"{tshark} -r {lab} -w -", tmp_path / "ng.pcap")  # tshark's default is pcapng
    await pcapng.start()
    assert await pcapng.finished(30)
    with pytest.raises(RigError, match="pcapng; the sniffer needs classic pcap"):
        await pcapng.stop()
    broken = CommandCapture(f"{tshark} -r {tmp_path / 'missing.pcap'} -F pcap -w -", tmp_path / "none.pcap")
    await broken.start()
    assert await broken.finished(30)
    with pytest.raises(RigError, match="exited"):
        await broken.stop()


async def test_a_pcap_file_that_is_not_pcap_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pcap"
    bogus.write_bytes(b"hello, not a capture at all")
    with pytest.raises(RigError, match="not a pcap capture"):
        await PcapFileCapture(bogus, tmp_path / "out.pcap").start()


def test_sniffer_rig_fields() -> None:
    from harness.rig import parse_rig

    base = Path("rigs/emulated.yaml").read_text()
    with pytest.raises(RigError, match="sniffer.interface: missing"):
        parse_rig(base + "sniffer:\n  kind: tshark\n", "rigs/x.yaml")
    with pytest.raises(RigError, match="sniffer.kind: 'usb' is not one of emulated, pcap, tshark, command"):
        parse_rig(base + "sniffer:\n  kind: usb\n", "rigs/x.yaml")
    rig = parse_rig(base + "sniffer:\n  kind: pcap\n  path: caps/air.pcap\n", "rigs/x.yaml")
    assert rig.sniffer is not None and rig.sniffer.path == "rigs/caps/air.pcap"
