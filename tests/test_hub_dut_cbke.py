"""The topology-2 bench with CBKE (rigs/hub-dut-emulated.yaml, hub.cbke on by default): the bench's test CA
certifies the emulated hub and the stick, the timeline and record show the exchange, a stick certified by another
issuer is refused with the hub's reason, and `hub.cbke: false` runs the bench as before (install-code key)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness.bench import hub_dut_steps as steps
from harness.bench.hub_dut import HubDutBench
from harness.evidence.bundle import EvidenceBundle
from harness.rig import RigFileError, parse_rig
from harness.zigbee.cbke.certificate import CertificateAuthority

ROOT = Path(__file__).resolve().parents[1]
EMULATED = (ROOT / "rigs" / "hub-dut-emulated.yaml").read_text()


@contextlib.asynccontextmanager
async def hub_bench(tmp_path: Path, name: str, text: str = EMULATED, **options: object
                    ) -> AsyncIterator[HubDutBench]:
    rig = parse_rig(text, str(tmp_path / "hub-dut.yaml"))
    evidence = EvidenceBundle(tmp_path, f"tests/test_hub_dut_cbke.py::{name}")
    bench = await HubDutBench.start(rig, evidence, **options)  # type: ignore[arg-type]
    try:
        yield bench
    finally:
        await bench.stop()
        evidence.close("passed")


def test_hub_cbke_is_on_by_default_and_can_be_turned_off() -> None:
    assert parse_rig(EMULATED, "r.yaml").hub.cbke
    assert parse_rig(EMULATED.replace("  cbke: true", "#"), "r.yaml").hub.cbke  # default for an emulated hub
    assert not parse_rig(EMULATED.replace("  cbke: true", "  cbke: false"), "r.yaml").hub.cbke
    with pytest.raises(RigFileError) as info:
        parse_rig(EMULATED.replace("  cbke: true", "  cbke: maybe"), "r.yaml")
    assert info.value.field_path == "hub.cbke" and "true or false" in str(info.value)


async def test_the_bench_runs_cbke_and_records_it(tmp_path: Path) -> None:
    async with hub_bench(tmp_path, "ok") as bench:
        esme = bench.device("esme")
        await steps.install_with_wan(bench, esme)
        await steps.whitelist_and_join(bench, bench.installing_supplier, esme)  # checks the CHF holds the CBKE key
        ca = bench.evidence.record.provenance["cbke_ca"]
        enabled = bench.evidence.timeline.of_kind("cbke.enabled")
        assert len(enabled) == 1 and enabled[0].fields["hub_issuer"] == ca["issuer"]
        assert enabled[0].fields["stick_subject"] == "00DB1234567890A0"
        assert enabled[0].fields["hub_subject"] == "00DB1234567890A2"
        (cbke,) = bench.evidence.timeline.of_kind("han.cbke")
        assert cbke.fields["success"] and cbke.fields["issuer"] == ca["issuer"] and cbke.fields["duration_s"] >= 0
        (join,) = bench.evidence.timeline.of_kind("han.join")
        assert join.fields["cbke_s"] >= 0
        measured = bench.evidence.record.measurement(f"cbke_duration.{esme.eui64.dcc}")
        assert measured is not None and measured.unit == "s"
        assert round(measured.value, 3) == cbke.fields["duration_s"]
        key = bench.hub_cbke.last_result(esme.eui64.to_zigpy()).link_key
        assert key != esme.link_key and any(k == key for k, _ in bench.sniffer.keys)  # the pcap can decrypt it


async def test_a_stick_from_another_issuer_is_refused_with_the_hubs_reason(tmp_path: Path) -> None:
    stranger = CertificateAuthority.generate()
    async with hub_bench(tmp_path, "stranger", stick_cbke_issuer=stranger) as bench:
        esme = bench.device("esme")
        await steps.install_with_wan(bench, esme)
        await steps.add_to_device_log(bench, bench.installing_supplier, esme)
        reason = await bench.expect_refused(esme, within=10)
        assert reason.startswith("cbke-failed") and stranger.issuer.hex().upper() in reason, reason
        await bench.wait_left(esme, timeout=5)
        assert not bench.hub.device_log.entry(esme.eui64).joined
        (cbke,) = bench.evidence.timeline.of_kind("han.cbke")
        assert not cbke.fields["success"] and cbke.fields["status"] == "UNKNOWN_ISSUER"


async def test_without_cbke_the_install_code_key_is_the_tc_link_key(tmp_path: Path) -> None:
    async with hub_bench(tmp_path, "off", EMULATED.replace("  cbke: true", "  cbke: false")) as bench:
        assert bench.hub_cbke is None and bench.stick_cbke is None
        esme = bench.device("esme")
        await steps.install_with_wan(bench, esme)
        await steps.whitelist_and_join(bench, bench.installing_supplier, esme)
        assert bench.hub.device_log.entry(esme.eui64).tc_link_key == esme.link_key
        assert not bench.evidence.timeline.of_kind("han.cbke")
