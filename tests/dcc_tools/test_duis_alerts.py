"""Device alerts (CS14 0x8F12 with its GBCS payload) and DCC alerts (N24) as DUIS XML: valid against the DUIS
schema, the GBCS framing byte-exact against RTDS vectors, hashes redacted unless asked, and both in a bench's
evidence bundle and timeline."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from harness.bench.duis_evidence import observe_alerts
from harness.evidence.bundle import EvidenceBundle
from harness.smets.duis import DccAlert, RequestId, UpdateHanDeviceLog
from harness.smets.duis.alerts_xml import dcc_alert_xml, device_alert_xml
from harness.smets.gbcs_frame import CRA_RESPONSE, frame
from harness.smets.hub import ChfAlert, LogChangeKind
from harness.smets.identities import Eui64
from tests.dcc_tools.oracle import require_schema
from tests.smets.premises import CHF, ESME, GSME
from tests.smets.premises import RTDS_CODE as CODE
from tests.smets.test_dcc import HASH, A, Site

AT = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)
NS = {"sr": "http://www.dccinterface.co.uk/ServiceUserGateway"}
RID = RequestId(A.user_id, CHF, 1002)

# RTDS 4.5.0 ([GP] test/rtds): the CCS01 and CS03B success responses, whole.
CCS01_RESPONSE = bytes.fromhex(
    "DD000000000000561100000000DF090200000000000005160800DB1234567890A20890B3D51F300000020012000190B3D51F3001000000"
    "000000000003EA12DA200005160000030000000303000200020000CA0E10505772E5E67F0C8FC4")
CS03B_RESPONSE = bytes.fromhex(
    "DD000000000000371100000000DF090200000000000003E90800DB1234567890A10890B3D51F300100000002000E0302010000937A3D91"
    "2E92887602F17814")


def _alert(entries: tuple[tuple[Eui64, bytes], ...]) -> ChfAlert:
    return ChfAlert(0x8F12, AT, CHF, LogChangeKind.JOINED, ESME, entries, CHF)


def test_the_gbcs_framing_rebuilds_rtds_responses_byte_for_byte() -> None:
    ccs01 = frame(CRA_RESPONSE, 0x516, CHF, Eui64.parse("90-B3-D5-1F-30-00-00-02"),
                  bytes.fromhex("000190B3D51F3001000000000000000003EA"),
                  bytes.fromhex("DA2000051600000300000003030002000200"), CCS01_RESPONSE[-12:])
    cs03b = frame(CRA_RESPONSE, 0x3E9, GSME, A.user_id, bytes.fromhex("000E"), bytes.fromhex("020100"),
                  CS03B_RESPONSE[-12:])
    assert (ccs01, cs03b) == (CCS01_RESPONSE, CS03B_RESPONSE)


def test_cs14_device_alert_is_schema_valid_and_carries_the_log() -> None:
    schema = require_schema()
    xml = device_alert_xml(_alert(((ESME, HASH), (GSME, b""))), counter=7, reveal_secrets=True)
    assert xml is not None and schema.problems(xml) == []
    msg = ET.fromstring(xml).find("sr:Body/sr:DeviceAlertMessage", NS)
    assert msg is not None and msg.findtext("sr:AlertCode", namespaces=NS) == "8F12"
    gbcs = base64.b64decode(msg.findtext("sr:GBCSPayload", namespaces=NS) or "")
    assert gbcs[:7] == bytes.fromhex("DD000000000000")
    assert gbcs[gbcs.index(b"\xDF\x09") + 2] == 0x03  # CRA flag: alert
    assert bytes.fromhex("00 02 0018") in gbcs  # no date-time; other-information: message code 0x0018
    # DATA-NOTIFICATION, invoke id 7, no date-time, structure{long-unsigned 0x8F12, ...}
    assert bytes.fromhex("0F 00000007 00 0203 12 8F12") in gbcs
    assert ESME.to_bytes() in gbcs and HASH in gbcs


def test_cs14_hashes_are_redacted_unless_revealed() -> None:
    xml = device_alert_xml(_alert(((ESME, HASH),)))
    assert xml is not None and "redacted" in xml
    gbcs = base64.b64decode(ET.fromstring(xml).findtext(".//sr:GBCSPayload", namespaces=NS) or "")
    assert HASH not in gbcs and ESME.to_bytes() + b"\x09\x10" + bytes(16) in gbcs
    assert require_schema().problems(xml) == []  # the comment and zeroed octets keep it valid


def test_n24_dcc_alert_is_schema_valid() -> None:
    xml = dcc_alert_xml(DccAlert("N24", AT, RID, ESME, "joined"))
    assert require_schema().problems(xml) == []
    root = ET.fromstring(xml)
    assert root.findtext(".//sr:DCCAlertCode", namespaces=NS) == "N24"
    assert root.findtext(".//sr:UpdateHANDeviceLogServiceRequestID", namespaces=NS) == str(RID)


def test_alerts_reach_the_bundle_and_the_timeline_as_xml(tmp_path: Path) -> None:
    site = Site()
    bundle = EvidenceBundle(tmp_path, "tests/x.py::test_alerts")
    observe_alerts(bundle, site.dcc)

    site.send(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn="1312345678118"), A, CHF)
    site.hub.device_joined(ESME, HASH)  # CS14 with the hash, then N24
    bundle.close("passed")

    files = sorted(p.name for p in (bundle.dir / "duis").iterdir())
    assert files == ["001-device-alert-8F12.xml", "002-device-alert-8F12.xml", "003-dcc-alert-N24.xml"]
    events = bundle.timeline.of_kind("duis.alert")
    assert [e.fields["code"] for e in events] == ["8F12", "8F12", "N24"]
    schema = require_schema()
    for event in events:
        assert schema.problems(event.fields["xml"]) == []
        assert (bundle.dir / event.fields["file"]).read_text() == event.fields["xml"]
    for event in events[:2]:  # the run did not ask to reveal secrets: no hash in the payloads it wrote
        payload = ET.fromstring(event.fields["xml"]).findtext(".//sr:GBCSPayload", namespaces=NS) or ""
        assert HASH not in base64.b64decode(payload)
