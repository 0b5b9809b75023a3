"""Every DUIS request, response and acknowledgement the harness builds is valid against the DCC's DUIS Schema
V5.1 (from the pinned @smartdcc/duis-sign-wrap tool.jar); `duis check` puts the schema before the DCC's rules and
its input handling is bounded (size limit, regular files only, no traceback on mutated documents)."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import main
from harness.errors import InputError
from harness.smets import duis as d
from harness.smets.duis.xmlbits import MAX_DOCUMENT_BYTES
from harness.smets.identities import Eui64
from tests.dcc_tools.oracle import SCHEMA_DIR, require_schema, request_templates

ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
GSME = Eui64.parse("00-DB-12-34-56-78-90-A1")
CHF = Eui64.parse("00-DB-12-34-56-78-90-A2")
GPF = Eui64.parse("00-DB-12-34-56-78-90-A3")
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
AT = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)
CERT = "MIIBqzCCAVKgAwIBAgIQJtsQ6ANIt8ar8LjKlyjgWTAKBggqhkjOPQQDAjAa"

BUILT = [
    (d.UpdateHanDeviceLog.add(ESME, bytes(range(16)), join_time_period=90, import_mpxn="1312345678118"), CHF),
    (d.UpdateHanDeviceLog.add(ESME, bytes(range(8)), join_time_period=3600), CHF),
    (d.UpdateHanDeviceLog.remove(ESME), CHF),
    (d.CommissionDevice(AT), ESME),
    (d.CommissionDevice(AT, 30), GSME),
    (d.ReadInventory(ESME), d.DCC_ACB_EUI),
    (d.ReadDeviceLog(), CHF),
    (d.ReadDeviceLog(True), CHF),
    (d.RestoreHanDeviceLog(CHF), CHF),
    (d.ChfInstallSuccessSmWan(CHF, "1312345678118"), d.DCC_ACB_EUI),
    (d.ChfInstallSuccessNoSmWan(CHF, "1312345678118"), d.DCC_ACB_EUI),
    (d.ChfFaultReturn(CHF, other_device_id=ESME), d.DCC_ACB_EUI),
    (d.ChfNoFaultReturn(CHF), d.DCC_ACB_EUI),
    (d.RequestWanMatrix("M22 0RR", "1 Threapwood Road"), d.DCC_ACB_EUI),
    (d.RequestWanMatrix(uprn="123456789012"), d.DCC_ACB_EUI),
    (d.DevicePrenotification(ESME, "ESME"), d.DCC_ACB_EUI),
    (d.RequestHandover(certificates=(CERT, CERT, CERT), certification_path=(CERT,)), ESME),
    (d.UpdateSecurityCredentialsCoS("1312345678118", certificates=(CERT, CERT, CERT), certification_path=(CERT,)),
     ESME),
    (d.JoinServiceCritical(GSME), ESME),
    (d.JoinServiceNonCritical(GSME), GPF),
    (d.UnjoinServiceCritical(GSME), ESME),
    (d.UnjoinServiceNonCritical(GSME), GPF),
    (d.RestoreGpfDeviceLog(GPF), GPF),
    (d.DecommissionDevice(ESME), d.DCC_ACB_EUI),
    (d.UpdateInventory.delete(ESME), d.DCC_ACB_EUI),
    (d.UpdateInventory.update_mpxn(ESME, "1312345678118"), d.DCC_ACB_EUI),
]


@pytest.fixture(scope="module")
def schema():  # noqa: ANN201
    return require_schema()


# What the bench sends and writes is the signed form: it must be schema-valid too (the Signature is the schema's).
KEYS = d.GeneratedKeystore(dcc_ids=[d.DCC_ACB_EUI])


@pytest.mark.parametrize(("body", "target"), BUILT, ids=[f"{b.SRV}-{i}" for i, (b, _) in enumerate(BUILT)])
def test_every_request_the_harness_builds_is_schema_valid(schema, body, target) -> None:  # noqa: ANN001
    request = d.Request.build(body, originator=SUPPLIER, target=target, counter=1002)
    xml = request.to_xml()
    assert schema.problems(xml) == []
    assert d.validate(xml) == []
    signed = request.to_xml(KEYS.signer_for(SUPPLIER))
    assert schema.problems(signed) == []
    assert d.validate(signed) == []


FUTURE = datetime(2030, 1, 15, 9, tzinfo=timezone.utc)
FUTURE_DATED = [  # ExecutionDateTime first in the body (schema V5.1 FutureDatedAbstractType); 3000-12-31 cancels
    (d.UpdateHanDeviceLog.add(ESME, bytes(16), import_mpxn="1312345678118", execution_date_time=FUTURE), CHF),
    (d.UpdateHanDeviceLog.remove(ESME, execution_date_time=d.CANCELLATION_DATE_TIME), CHF),
    (d.RequestHandover(certificates=(CERT, CERT, CERT), certification_path=(CERT,), execution_date_time=FUTURE), ESME),
    (d.UpdateSecurityCredentialsCoS("1312345678118", certificates=(CERT, CERT, CERT), certification_path=(CERT,),
                                    execution_date_time=d.CANCELLATION_DATE_TIME), ESME),
]


@pytest.mark.parametrize(("body", "target"), FUTURE_DATED,
                         ids=[f"{b.SRV}-{i}" for i, (b, _) in enumerate(FUTURE_DATED)])
def test_future_dated_requests_are_schema_valid(schema, body, target) -> None:  # noqa: ANN001
    xml = d.Request.build(body, originator=SUPPLIER, target=target, counter=1003).to_xml()
    assert schema.problems(xml) == []
    assert d.parse_request(xml).body == body


@pytest.mark.parametrize("when", [None, FUTURE])
def test_a_signed_pre_command_request_is_schema_valid(schema, when) -> None:  # noqa: ANN001
    rid = d.RequestId(Eui64.parse(SUPPLIER), ESME, 1004)
    xml = d.Request.signed(rid, "8.1.1", b"pre-command 8.1.1", execution_date_time=when).to_xml()
    assert schema.problems(xml) == []
    parsed = d.parse_request(xml)
    assert (parsed.command_variant, parsed.body) == (5, d.SignedPreCommand(b"pre-command 8.1.1", when))
    wrong = xml.replace("<sr:CommandVariant>5<", "<sr:CommandVariant>4<")  # CV 4 carries the SRV's own body
    assert "expected one CommissionDeviceSynchroniseClock" in str(d.validate(wrong)[0])


def test_every_srv_in_the_catalogue_is_covered() -> None:
    assert {b.SRV for b, _ in BUILT} == set(d.CATALOGUE)


RID = d.RequestId(Eui64.parse(SUPPLIER), Eui64.parse(d.DCC_ACB_EUI), 7)
ECHO = {"PostCode": "M22 0RR", "AddressIdentifier": "1"}
RESPONSES = [
    ("12.1", d.ResponseCode.I0, d.DspWanMatrix("Central", True, "30", "Medium"), ECHO),
    ("12.1", d.ResponseCode.I0, d.DspWanMatrix("North", False, "30", "Low", date(2024, 9, 1)), ECHO),
    ("12.1", d.ResponseCode.I0, d.NoPremisesFound("postcode not in the database"), ECHO),
    ("8.2", d.ResponseCode.I0, d.DspInventory((d.InventoryDevice(ESME, "ESME", "Pending", "010A030B", None, "AB01"),)),
     {}),
    ("8.11", d.ResponseCode.I99, None, {}),
    ("8.11", d.ResponseCode.I0, d.DeviceResult(True), {}),
    ("8.11", d.ResponseCode.E4, None, {}),
    ("8.1.1", d.ResponseCode.I0, d.PreCommand("harness-opaque", b"pre-command 8.1.1"), {}),  # the CV 4 answer
]


@pytest.mark.parametrize(("srv", "code", "payload", "echo"), RESPONSES)
def test_every_response_the_dcc_builds_is_schema_valid(schema, srv, code, payload, echo) -> None:  # noqa: ANN001
    response = d.Response(RID, srv, code, AT, AT, "", payload)
    response.request_elems.update(echo)
    assert schema.problems(response.to_xml()) == []
    assert schema.problems(response.to_xml(KEYS.signer_for(d.DCC_ACB_EUI))) == []  # signed by the DCC


def test_schema_problems_name_the_element_and_line(schema) -> None:  # noqa: ANN001
    xml = d.Request.build(d.UpdateHanDeviceLog.add(ESME, bytes(16)), originator=SUPPLIER, target=CHF,
                          counter=1).to_xml().replace("<sr:JoinTimePeriod>90<", "<sr:JoinTimePeriod>0<")
    [problem] = schema.problems(xml)
    assert problem.element == "sr:JoinTimePeriod"
    assert problem.line == xml.splitlines().index(next(ln for ln in xml.splitlines() if "JoinTimePeriod" in ln)) + 1


def test_check_reports_schema_before_dcc_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_schema()
    good = d.Request.build(d.UpdateHanDeviceLog.add(ESME, bytes(16)), originator=SUPPLIER, target=CHF,
                           counter=1).to_xml()
    schema_bad = tmp_path / "jtp0.xml"
    schema_bad.write_text(good.replace("<sr:JoinTimePeriod>90<", "<sr:JoinTimePeriod>0<"))
    rule_bad = tmp_path / "cv4.xml"
    rule_bad.write_text(good.replace("<sr:CommandVariant>1<", "<sr:CommandVariant>4<"))
    assert main(["duis", "check", "--schema", str(SCHEMA_DIR), str(schema_bad), str(rule_bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{schema_bad}: schema: sr:JoinTimePeriod: ")
    assert err[1].startswith(f"{rule_bad}: DCC rule: CommandVariant: CommandVariant 4 not valid for 8.11 (allowed: 1) (line ")


def test_check_without_the_schema_says_where_it_looked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.xml"
    path.write_text("<a/>")
    assert main(["duis", "check", "--schema", str(tmp_path), str(path)]) == 2
    assert "make dcc-tools" in capsys.readouterr().err


def test_check_refuses_a_named_pipe_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_schema()
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    assert main(["duis", "check", "--schema", str(SCHEMA_DIR), str(fifo)]) == 2
    assert f"{fifo}: not a regular file" in capsys.readouterr().err


def test_check_refuses_a_file_over_the_size_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_schema()
    big = tmp_path / "big.xml"
    big.write_bytes(b"<a>" + b"x" * MAX_DOCUMENT_BYTES + b"</a>")
    assert main(["duis", "check", "--schema", str(SCHEMA_DIR), str(big)]) == 2
    assert "byte DUIS document limit" in capsys.readouterr().err


def test_the_domain_parser_refuses_oversize_documents() -> None:
    with pytest.raises(d.DuisSchemaError, match="limit"):
        d.parse_request(b"<a>" + b"x" * MAX_DOCUMENT_BYTES + b"</a>")


def test_bad_values_are_quoted_only_as_a_short_excerpt(schema) -> None:  # noqa: ANN001
    long_value = "9" * 5000
    xml = d.Request.build(d.ReadInventory(ESME), originator=SUPPLIER, target=d.DCC_ACB_EUI,
                          counter=1).to_xml().replace(ESME.dcc + "<", long_value + "<")
    problems = schema.problems(xml)
    assert problems and all(len(str(p)) < 600 for p in problems)


def _seed_documents() -> list[bytes]:
    docs = [d.Request.build(b, originator=SUPPLIER, target=t, counter=3).to_xml().encode() for b, t in BUILT]
    return docs + [p.read_bytes() for p in request_templates()[:20]]


SEEDS = _seed_documents()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 4000), junk=st.binary(max_size=12),
       mode=st.sampled_from(["insert", "replace", "truncate", "duplicate"]))
def test_mutated_documents_get_a_clean_answer(seed: bytes, cut: int, junk: bytes, mode: str) -> None:
    at = cut % (len(seed) + 1)
    if mode == "insert":
        doc = seed[:at] + junk + seed[at:]
    elif mode == "replace":
        doc = seed[:at] + junk + seed[at + len(junk):]
    elif mode == "truncate":
        doc = seed[:at]
    else:
        doc = seed[:at] + seed[at:at + 200] * 50 + seed[at:]
    problems = d.validate(doc)  # never raises: every problem is reported
    assert all(isinstance(p, d.Problem) and str(p) for p in problems)
    try:
        d.parse_request(doc)
    except InputError:
        pass
    schema = require_schema()
    assert all(str(p) for p in schema.problems(doc))
