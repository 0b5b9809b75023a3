"""The CBKE exchange in a radio capture, dissected by tshark (the independent decoder) given only the key table
the sniffer writes: Initiate, Ephemeral Data and Confirm Key Data both ways, with the certificate fields Wireshark
parses, and the CBKE link key in the key table."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import zigpy.types as zt

from harness.drivers.ezsp import EzspCoordinator
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import DeviceSpec, EmulatedHan
from harness.zigbee.cbke.certificate import CertificateAuthority
from tests.emulation.test_join_pcap_tshark import ESME, SPEC_CODE, read_key_table
from tests.zigbee.tshark import require_tshark, run_fields

pytestmark = pytest.mark.timeout(60)
NCP_EUI = "00:12:4B:00:11:22:33:44"
FIELDS = ["frame.number", "_ws.col.Info", "zbee_zcl_se.ke.attr.suite", "zbee_zcl_se.ke.cert.issuer",
          "zbee_zcl_se.ke.cert.subject", "zbee_zcl_se.ke.qeu", "zbee_zcl_se.ke.qev", "zbee_zcl_se.ke.macu",
          "zbee_zcl_se.ke.macv"]


async def test_cbke_exchange_is_dissected_by_tshark(tmp_path: Path) -> None:
    tshark = require_tshark()
    ca = CertificateAuthority.generate(bytes.fromhex("5445535443413031"))
    creds = ca.issue(bytes(ESME)[::-1], valid_from=0)
    han = EmulatedHan([DeviceSpec("esme", ESME, SPEC_CODE, options={"cbke": creds})], pcap_path=tmp_path / "c.pcap",
                      device_options={"scan_interval": 0.1, "scan_dwell": 0.004})
    ncp = han.make_ncp(13, eui64=NCP_EUI)
    ncp.install_cbke_data(ca.issue(bytes(zt.EUI64.convert(NCP_EUI))[::-1], valid_from=0))
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(han.close)
        url = await stack.enter_async_context(serve_ncp(ncp, "pty"))
        coordinator = EzspCoordinator(url)
        stack.push_async_callback(coordinator.close)
        await coordinator.connect()
        await coordinator.form()
        await coordinator.enable_cbke()
        han.start()
        await coordinator.permit_install_code(ESME, han.device(ESME).link_key, 60)
        await coordinator.wait_joined(ESME, 10)
        result = await coordinator.wait_key_established(ESME, 10)
        assert result.outcome.success
    assert han.sniffer is not None
    keys = read_key_table(han.sniffer.key_table_path)
    assert result.link_key in [k for k, _ in keys]
    rows = run_fields(tshark, tmp_path / "c.pcap", FIELDS, keys=[(k, label) for k, label in keys])
    info = [r["_ws.col.Info"] for r in rows if "Key Establishment" in r["_ws.col.Info"]]
    for name in ("Initiate Key Establishment Request", "Initiate Key Establishment Response",
                 "Ephemeral Data Request", "Ephemeral Data Response",
                 "Confirm Key Data Request", "Confirm Key Data Response"):
        assert any(name in i for i in info), (name, info)
    issuers = {r["zbee_zcl_se.ke.cert.issuer"] for r in rows if r["zbee_zcl_se.ke.cert.issuer"]}
    assert {i.replace(":", "").lower() for i in issuers} == {"5445535443413031"}
    assert any(r["zbee_zcl_se.ke.macu"] for r in rows) and any(r["zbee_zcl_se.ke.macv"] for r in rows)
