"""DUIS requests: XML shape (domain.md §1.2 RTDS), stateless validation, RequestID and anti-replay."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InputError
from harness.smets.duis import (
    BODY_TYPES,
    CATALOGUE,
    COUNTER_LIMIT,
    DCC_ACB_EUI,
    AntiReplay,
    ChfFaultReturn,
    ChfInstallSuccessNoSmWan,
    ChfInstallSuccessSmWan,
    ChfNoFaultReturn,
    CommissionDevice,
    DevicePrenotification,
    DspWanMatrix,
    DuisSchemaError,
    NoPremisesFound,
    ReadDeviceLog,
    ReadInventory,
    ReplayRefused,
    Request,
    RequestHandover,
    RequestId,
    RequestWanMatrix,
    Response,
    ResponseCode,
    RestoreHanDeviceLog,
    UpdateHanDeviceLog,
    UpdateSecurityCredentialsCoS,
    parse_request,
    validate,
)
from harness.smets.identities import Eui64
from tests.smets.premises import CHF, ESME, GPF, RTDS_CODE
from tests.smets.premises import SUPPLIER_A as SUPPLIER

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "duis"

# An 8.11 request written by hand in the RTDS shape (domain.md §1.2): default-namespace Signature, schema 5.4.
RTDS_SHAPED_8_11 = """<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1002</sr:RequestID>
    <sr:CommandVariant>1</sr:CommandVariant>
    <sr:ServiceReference>8.11</sr:ServiceReference>
    <sr:ServiceReferenceVariant>8.11</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>
    <sr:UpdateHANDeviceLog>
      <sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID>
      <sr:RequestType>Add</sr:RequestType>
      <sr:AddDeviceToCHFWhitelist>
        <sr:JoinTimePeriod>90</sr:JoinTimePeriod>
        <sr:InstallCode>30313233343536373839414243444546</sr:InstallCode>
        <sr:ImportMPxN>1312345678111</sr:ImportMPxN>
        <sr:SecondaryImportMPAN>1312345678222</sr:SecondaryImportMPAN>
      </sr:AddDeviceToCHFWhitelist>
    </sr:UpdateHANDeviceLog>
  </sr:Body>
  <ds:Signature xmlns="http://www.w3.org/2000/09/xmldsig#">
    <ds:SignedInfo/>
    <ds:SignatureValue>AA==</ds:SignatureValue>
  </ds:Signature>
</sr:Request>
"""


def _add_request(**changes: object) -> Request:
    return Request.build(UpdateHanDeviceLog.add(ESME, RTDS_CODE, import_mpxn="1312345678118"),
                         originator=SUPPLIER, target=CHF, counter=1002, **changes)  # type: ignore[arg-type]


def _messages(xml: str) -> list[str]:
    return [str(p) for p in validate(xml)]


# -- reading the RTDS shape ------------------------------------------------------------------------------------
def test_rtds_shaped_8_11_add_reads_as_typed_request() -> None:
    request = parse_request(RTDS_SHAPED_8_11)
    assert request.srv == "8.11"
    assert request.command_variant == 1
    assert request.request_id == RequestId(SUPPLIER, CHF, 1002)
    body = request.body
    assert isinstance(body, UpdateHanDeviceLog)
    assert (body.device_id, body.request_type, body.join_time_period) == (ESME, "Add", 90)
    assert body.install_code == RTDS_CODE
    assert (body.import_mpxn, body.secondary_import_mpan) == ("1312345678111", "1312345678222")


def test_install_code_is_not_in_the_body_repr() -> None:
    assert "3031" not in repr(parse_request(RTDS_SHAPED_8_11).body)


def test_written_request_has_the_dcc_shape() -> None:
    xml = _add_request().to_xml()
    assert 'xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"' in xml
    assert 'schemaVersion="5.4"' in xml
    for element in ("<sr:Header>", "<sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1002<",
                    "<sr:CommandVariant>1<", "<sr:ServiceReference>8.11<", "<sr:ServiceReferenceVariant>8.11<",
                    "<sr:InstallCode>30313233343536373839414243444546<", "<ds:Signature",
                    "xml-exc-c14n#", "ecdsa-sha256", "<ds:X509IssuerSerial>"):
        assert element in xml


EVERY_BODY = [
    UpdateHanDeviceLog.add(ESME, RTDS_CODE, join_time_period=60, import_mpxn="1312345678118",
                           secondary_import_mpan="1312345678222"),
    UpdateHanDeviceLog.remove(ESME),
    ChfInstallSuccessSmWan(CHF, "1312345678118", aerial_install=True),
    ChfInstallSuccessNoSmWan(CHF, "1312345678118", metal_obstruction_check=True),
    ChfFaultReturn(CHF, other_device_id=ESME),
    ChfNoFaultReturn(CHF),
    CommissionDevice(datetime(2014, 12, 31, 23, 59, 10, tzinfo=timezone.utc)),
    ReadInventory(CHF),
    ReadDeviceLog(read_security_details=True),
    ReadDeviceLog(),
    RestoreHanDeviceLog(Eui64.parse("00-DB-12-34-56-78-90-95")),
    RequestWanMatrix("M22 0RR", "Threapwood Road"),
    RequestWanMatrix(uprn="123456789012"),
    DevicePrenotification(ESME, "ESME", esme_variant="AD"),
    RequestHandover(certificates=("MIIB", "MIIC", "MIID")),
    UpdateSecurityCredentialsCoS("1312345678118", certificates=("MIIB",)),
]


@pytest.mark.parametrize("body", EVERY_BODY, ids=lambda b: f"{b.SRV}-{type(b).__name__}")
def test_every_supported_request_round_trips_through_xml(body: object) -> None:
    spec = CATALOGUE[body.SRV]  # type: ignore[attr-defined]
    target = DCC_ACB_EUI if spec.non_device else (GPF if body.SRV == "6.21" else CHF)  # type: ignore[attr-defined]
    request = Request.build(body, originator=SUPPLIER, target=target, counter=7)  # type: ignore[arg-type]
    xml = request.to_xml()
    assert validate(xml) == []
    assert parse_request(xml) == request


def test_catalogue_covers_the_srvs_in_the_brief() -> None:
    assert set(BODY_TYPES) >= {"8.11", "8.14.1", "8.14.2", "8.14.3", "8.14.4", "8.1.1", "8.2", "8.9", "8.12.1",
                               "12.1", "12.2", "6.21", "6.23"}


def test_service_reference_of_8_14_2_is_8_14() -> None:
    # [DT] 8.14.2 template: ServiceReference 8.14, ServiceReferenceVariant 8.14.2.
    xml = Request.build(ChfInstallSuccessNoSmWan(CHF, "1312345678118"), originator=SUPPLIER, target=DCC_ACB_EUI,
                        counter=1).to_xml()
    assert "<sr:ServiceReference>8.14<" in xml and "<sr:ServiceReferenceVariant>8.14.2<" in xml


# -- validation problems name the element and what is wrong (domain.md §10 scenarios 18, 20, 21) ---------------
@pytest.mark.parametrize("octets", [6, 8, 12, 16])
def test_install_code_lengths_the_schema_and_zigbee_admit_are_accepted(octets: int) -> None:
    # DUIS Schema V5.1: hexBinary of 6..16 octets; ZigBee SE install codes are 6, 8, 12 or 16 octets (domain.md §4.4).
    xml = RTDS_SHAPED_8_11.replace("30313233343536373839414243444546", "AB" * octets)
    assert validate(xml) == []


@pytest.mark.parametrize(
    ("code_hex", "expected"),
    [("303132333435363738394142434445", "InstallCode: 15 bytes, expected 6 or 8 or 12 or 16"),
     ("30313233343536373839414243444546F596", "InstallCode: 18 bytes, expected 6 or 8 or 12 or 16"),  # code + CRC appended
     ("3031323334353637383941424344454", "InstallCode: odd number of hex digits (31)"),
     ("ZZ313233343536373839414243444546", "InstallCode: is not hexadecimal octets")],
)
def test_install_code_must_be_16_octets(code_hex: str, expected: str) -> None:
    xml = RTDS_SHAPED_8_11.replace("30313233343536373839414243444546", code_hex)
    [problem] = validate(xml)
    assert str(problem).startswith(expected)
    assert code_hex not in str(problem)  # the secret is not echoed


@pytest.mark.parametrize(
    ("request_id", "expected"),
    [("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:0", "RequestID: counter must be > 0"),
     ("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:-5", "RequestID: counter must be > 0"),
     ("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:18446744073709551616", "RequestID: counter must be < 2^64"),
     ("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2", "RequestID: '90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78"),
     ("90-B3-D5-1F-30-01-00:00-DB-12-34-56-78-90-A2:5", "RequestID: originator: EUI-64"),
     ("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-G2:5", "RequestID: target: EUI-64"),
     ("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:x1", "RequestID: counter 'x1' is not a whole number")],
)
def test_malformed_request_id_is_named(request_id: str, expected: str) -> None:
    xml = RTDS_SHAPED_8_11.replace("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1002", request_id)
    messages = _messages(xml)
    assert len(messages) == 1 and messages[0].startswith(expected), messages


def test_largest_counter_is_accepted() -> None:
    xml = RTDS_SHAPED_8_11.replace(":1002<", f":{COUNTER_LIMIT - 1}<")
    assert parse_request(xml).request_id.counter == 2**64 - 1


def test_malformed_device_id_is_named() -> None:
    xml = RTDS_SHAPED_8_11.replace("<sr:DeviceID>00-DB-12-34-56-78-90-A0", "<sr:DeviceID>00-DB-12-34-56-78-90")
    assert _messages(xml)[0].startswith("DeviceID: '00-DB-12-34-56-78-90' is not an EUI-64")


def test_cv4_on_non_critical_8_11_is_an_e12_problem() -> None:
    [problem] = validate(RTDS_SHAPED_8_11.replace("<sr:CommandVariant>1<", "<sr:CommandVariant>4<"))
    assert str(problem).startswith("CommandVariant: CommandVariant 4 not valid for 8.11")
    assert problem.response_code == "E12"


def test_cv1_on_8_14_2_is_an_e12_problem() -> None:
    xml = Request.build(ChfInstallSuccessNoSmWan(CHF, "1312345678118"), originator=SUPPLIER, target=DCC_ACB_EUI,
                        counter=1, command_variant=1).to_xml()
    [problem] = validate(xml)
    assert "CommandVariant 1 not valid for 8.14.2 (allowed: 8)" in str(problem)


def test_non_device_request_must_target_the_dcc() -> None:
    xml = Request.build(ReadInventory(CHF), originator=SUPPLIER, target=CHF, counter=1).to_xml()
    [problem] = validate(xml)
    assert problem.response_code == "E11" and "must be the DCC" in problem.message


def test_xml_syntax_error_reports_line_and_column() -> None:
    xml = RTDS_SHAPED_8_11.replace("</sr:RequestType>", "</sr:RequestTyp>")
    [problem] = validate(xml)
    assert problem.element == "XML"
    assert (problem.line, problem.column) == (13, 28)
    assert "mismatched tag" in str(problem) and "line 13, column 28" in str(problem)


def test_element_problems_carry_their_line() -> None:
    xml = RTDS_SHAPED_8_11.replace("30313233343536373839414243444546", "3031")
    [problem] = validate(xml)
    assert problem.line == 16


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [(("<sr:RequestType>Add<", "<sr:RequestType>Replace<"), "RequestType: 'Replace' is not Add or Remove"),
     (("<sr:ServiceReference>8.11<", "<sr:ServiceReference>8.12<"), "ServiceReference: '8.12' does not match"),
     (("ServiceReferenceVariant>8.11<", "ServiceReferenceVariant>9.99<"), "ServiceReferenceVariant: '9.99' is not"),
     (("<sr:JoinTimePeriod>90<", "<sr:JoinTimePeriod>ninety<"), "JoinTimePeriod: 'ninety' is not a whole number"),
     (("<sr:JoinTimePeriod>90<", "<sr:JoinTimePeriod>65536<"), "JoinTimePeriod: 65536 is out of range"),
     ((' schemaVersion="5.4"', ""), "Request: schemaVersion attribute missing"),
     (("<sr:CommandVariant>1</sr:CommandVariant>", ""), "CommandVariant: missing"),
     (("<sr:ImportMPxN>1312345678111<", "<sr:ImportMPxN>13A2345678111<"), "ImportMPxN: '13A2345678111' is not")],
)
def test_structural_problems_are_named(mutation: tuple[str, str], expected: str) -> None:
    xml = RTDS_SHAPED_8_11.replace(*mutation)
    assert any(m.startswith(expected) for m in _messages(xml)), _messages(xml)


def test_missing_signature_is_a_problem() -> None:
    xml = RTDS_SHAPED_8_11.split("  <ds:Signature")[0] + "</sr:Request>\n"
    assert _messages(xml)[0].startswith("Signature: missing XML-DSig Signature element")


def test_wrong_root_and_wrong_body_element() -> None:
    assert "root element must be Request" in _messages("<Request/>")[0]
    xml = RTDS_SHAPED_8_11.replace("UpdateHANDeviceLog>", "RestoreHANDeviceLog>")
    assert any("Body: expected one UpdateHANDeviceLog element for 8.11, found RestoreHANDeviceLog" in m
               for m in _messages(xml))


def test_remove_with_whitelist_block_is_refused() -> None:
    xml = RTDS_SHAPED_8_11.replace("<sr:RequestType>Add<", "<sr:RequestType>Remove<")
    assert _messages(xml)[0].startswith("AddDeviceToCHFWhitelist: not allowed with RequestType Remove")


def test_dtd_is_refused() -> None:
    xml = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<x/>'
    [problem] = validate(xml)
    assert problem.element == "XML" and "DTD" in problem.message and problem.line == 2


def test_parse_request_raises_with_every_problem() -> None:
    xml = RTDS_SHAPED_8_11.replace(":1002<", ":0<").replace("30313233343536373839414243444546", "30")
    with pytest.raises(DuisSchemaError) as info:
        parse_request(xml, where="x.xml")
    assert len(info.value.problems) == 2
    assert str(info.value).startswith("x.xml: RequestID: counter must be > 0")
    assert isinstance(info.value, InputError)


def test_12_1_needs_address_or_uprn() -> None:
    xml = Request.build(RequestWanMatrix("M22 0RR"), originator=SUPPLIER, target=DCC_ACB_EUI, counter=1).to_xml()
    xml = xml.replace("<sr:PartialAddress>", "").replace("</sr:PartialAddress>", "").replace(
        "<sr:PostCode>M22 0RR</sr:PostCode>", "")
    assert "needs PartialAddress{PostCode, AddressIdentifier} or UPRN" in _messages(xml)[0]


# -- fixtures ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(FIXTURES.glob("good_*.xml")), ids=lambda p: p.name)
def test_good_fixtures_validate(path: Path) -> None:
    assert validate(path.read_bytes()) == []


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("bad_*.xml")), ids=lambda p: p.name)
def test_bad_fixtures_have_problems(path: Path) -> None:
    assert validate(path.read_bytes())


# -- responses ------------------------------------------------------------------------------------------------
def test_response_xml_has_the_dcc_shape() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    rid = RequestId(SUPPLIER, Eui64.parse(DCC_ACB_EUI), 9)
    response = Response(rid, "12.1", ResponseCode.I0, at, at, payload=DspWanMatrix("Central", True, "30", "Medium"),
                        request_elems={"PostCode": "M22 0RR"})
    xml = response.to_xml()
    for part in ("<sr:ResponseCode>I0<", "<sr:ResponseDateTime>2026-01-05T09:00:00.000Z<",
                 "<sr:ServiceReferenceVariant>12.1<", "<sr:DSPWANMatrix>", "<sr:CSPRegion>Central<",
                 "<sr:CoverageAvailability>true<", "<sr:WANTechnology>30<", "<sr:ConnectivityLikelihood>Medium<",
                 "<sr:PostCode>M22 0RR<"):
        assert part in xml
    none = Response(rid, "12.1", ResponseCode.I0, at, at, payload=NoPremisesFound("new postcode"))
    assert "<sr:CSPRegion>Unknown<" in none.to_xml() and "No premises found. new postcode<" in none.to_xml()


def test_response_code_meanings_follow_domain_1_12() -> None:
    assert {c.value for c in ResponseCode} == {"I0", "I99", "E1", "E2", "E4", "E5", "E11", "E12", "E19", "E20"}
    assert ResponseCode.E5.meaning == "Device SMI Status incompatible with Service Reference Variant"
    assert ResponseCode.I99.is_success and not ResponseCode.E20.is_success


# -- RequestID and anti-replay ---------------------------------------------------------------------------------
def test_request_id_prints_in_duis_form() -> None:
    assert str(RequestId(SUPPLIER, CHF, 1002)) == "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1002"
    assert RequestId.parse("90-b3-d5-1f-30-01-00-00:00-db-12-34-56-78-90-a2:1002") == RequestId(SUPPLIER, CHF, 1002)


def test_replay_of_the_same_request_is_refused() -> None:
    guard = AntiReplay()
    guard.accept(RequestId(SUPPLIER, CHF, 5))
    with pytest.raises(ReplayRefused, match="counter 5 is not greater than 5"):
        guard.accept(RequestId(SUPPLIER, CHF, 5))


_ORIGINATORS = [SUPPLIER, Eui64.parse("90-B3-D5-1F-30-03-00-00")]


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(-3, COUNTER_LIMIT + 3)), max_size=40))
def test_anti_replay_accepts_iff_counter_beats_every_earlier_one(sequence: list[tuple[int, int]]) -> None:
    guard = AntiReplay()
    seen: dict[int, list[int]] = {0: [], 1: []}
    for who, counter in sequence:
        in_range = 0 < counter < COUNTER_LIMIT
        if not in_range:
            with pytest.raises(InputError):
                RequestId(_ORIGINATORS[who], CHF, counter)
            with pytest.raises(InputError):
                RequestId.parse(f"{_ORIGINATORS[who].dcc}:{CHF.dcc}:{counter}")
            continue
        rid = RequestId.parse(f"{_ORIGINATORS[who].dcc}:{CHF.dcc}:{counter}")
        expected = all(counter > earlier for earlier in seen[who])
        if expected:
            guard.accept(rid)
        else:
            with pytest.raises(ReplayRefused):
                guard.accept(rid)
        seen[who].append(counter)
