"""A full CHF Device Log: the 8.11 Add is answered (I0, as the DCC answers any device response) with the CHF's own
CCS01 response, whose DLMS results show register_device failed; the GBCS layout is the RTDS one (domain.md §1.3,
§4.2; harness/smets/gbcs_frame.py)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

from harness.smets.device_log import ChfDeviceLog
from harness.smets.duis import DeviceResult, ResponseCode, UpdateHanDeviceLog
from harness.smets.gbcs_frame import ccs01_response
from harness.smets.identities import Eui64
from tests.dcc_tools.oracle import require_schema
from tests.smets.premises import CHF, ESME, GSME, MPAN
from tests.smets.premises import RTDS_CODE as CODE
from tests.smets.test_dcc import A, Site

NS = {"sr": "http://www.dccinterface.co.uk/ServiceUserGateway"}
# RTDS 4.5.0 CCS01 ERROR response ([GP]): register_device success, SETs 1 and 250.
CCS01_ERROR = bytes.fromhex(
    "DD000000000000561100000000DF090200000000000005170800DB1234567890A20890B3D51F300000020012000190B3D51F3001000000"
    "000000000003EB12DA20000517000003000000030300020102FA00F468FF106D935B4DAD54BE39")


def _gbcs(response) -> bytes:  # noqa: ANN001
    xml = response.to_xml()
    return base64.b64decode(ET.fromstring(xml).findtext(".//sr:GBCSPayload", namespaces=NS) or "")


def test_ccs01_response_encoding_matches_the_rtds_error_vector() -> None:
    built = ccs01_response(chf=CHF, supplier=A.user_id, supplier_counter=1003, counter=0x517, results=(0, 1, 0xFA),
                           mac=CCS01_ERROR[-12:])
    assert built == CCS01_ERROR


def test_a_full_chf_log_shows_the_failure_in_the_response() -> None:
    site = Site()
    site.hub.device_log = ChfDeviceLog(site.clock, capacity=1)
    assert site.call(UpdateHanDeviceLog.add(GSME, CODE, import_mpxn=MPAN), A, CHF).code is ResponseCode.I0

    response = site.call(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)

    assert response.code is ResponseCode.I0  # the DCC delivered it; the device said no
    assert isinstance(response.payload, DeviceResult) and not response.payload.success
    assert "full" in response.detail
    assert require_schema().problems(response.to_xml()) == []
    gbcs = _gbcs(response)
    assert gbcs[-(12 + 1 + 6):-13] == bytes([0x03, 0xFA, 0x02, 0xFA, 0x02, 0xFA])  # action and both SETs failed
    assert Eui64.parse("00DB1234567890A2").to_bytes() in gbcs
    assert site.smi.status(ESME).value == "Pending"  # nothing whitelisted


def test_a_successful_add_carries_the_success_results() -> None:
    site = Site()
    response = site.call(UpdateHanDeviceLog.add(ESME, CODE, import_mpxn=MPAN), A, CHF)
    assert _gbcs(response)[-(12 + 1 + 6):-13] == bytes([0x03, 0x00, 0x02, 0x00, 0x02, 0x00])
