"""DUIS XML-DSig with a per-run generated test CA (needs none of the DCC's tools): round trip, every failure named,
the emulated DCC refusing an unknown or wrong signer with E1 before any other rule, and keys kept out of reprs.
tests/dcc_tools/test_duis_signing.py holds the same against the DCC's own signing tool and keystore."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization

from harness.smets import duis as d
from harness.smets.duis.keystore import ROLE_DSP_XML_SIGN, ROLE_XML_SIGN
from harness.smets.duis.signing import C14N_EXCLUSIVE, PLACEHOLDER
from tests.smets.premises import CHF, DCC, ESME, MPAN, RTDS_CODE, SUPPLIER_A, SUPPLIER_B
from tests.smets.test_dcc import A, B, Site

RC = d.ResponseCode


@pytest.fixture(scope="module")
def keystore() -> d.GeneratedKeystore:
    return d.GeneratedKeystore(dcc_ids=[DCC])


def _add(counter: int = 1, originator=SUPPLIER_A) -> d.Request:  # noqa: ANN001
    body = d.UpdateHanDeviceLog.add(ESME, RTDS_CODE, join_time_period=90, import_mpxn=MPAN)
    return d.Request.build(body, originator=originator, target=CHF, counter=counter)


def test_a_signed_request_verifies_and_names_its_signer(keystore: d.GeneratedKeystore) -> None:
    signer = keystore.signer_for(SUPPLIER_A)
    xml = _add().to_xml(signer)
    verified = keystore.verifier().verify(xml, signer_eui=SUPPLIER_A)
    assert verified.signer == signer.cert
    assert verified.signer.eui == SUPPLIER_A and verified.signer.role == ROLE_XML_SIGN
    assert d.validate(xml) == []  # still a well-formed DUIS request to the DCC's stateless rules
    assert f"<ds:X509SerialNumber>{signer.cert.serial}</ds:X509SerialNumber>" in xml


def test_the_dcc_signs_as_dsp_xml_sign(keystore: d.GeneratedKeystore) -> None:
    assert keystore.signer_for(DCC).cert.role == ROLE_DSP_XML_SIGN


def test_indentation_does_not_change_the_signed_document(keystore: d.GeneratedKeystore) -> None:
    """Element-content whitespace is dropped before signing, as the DCC's tool's parser drops it."""
    signer = keystore.signer_for(SUPPLIER_A)
    indented, compact = _add().to_xml(), _add().to_xml(signer)
    resigned = signer.sign(indented)
    content = re.compile(r"<sr:Header>.*</sr:Body>", re.S)
    assert content.search(resigned)[0] == content.search(compact)[0]
    keystore.verifier().verify(resigned)


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda x: x.replace(MPAN, "1312345678119"), "digest"),
    (lambda x: x.replace("<sr:JoinTimePeriod>90<", "<sr:JoinTimePeriod>91<"), "digest"),
    (lambda x: re.sub(r"<ds:SignatureValue>(.)", lambda m: "<ds:SignatureValue>" + ("B" if m[1] == "A" else "A"), x),
     "signature"),
    (lambda x: x.replace(C14N_EXCLUSIVE, "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"), "algorithm"),
    (lambda x: re.sub(r"<ds:X509SerialNumber>\d+<", "<ds:X509SerialNumber>1234567890<", x), "unknown signer"),
    (lambda x: re.sub(r"<ds:Signature[^>]*>.*</ds:Signature>", "", x, flags=re.S), "missing"),
    (lambda x: re.sub(r"<ds:DigestValue>[^<]*<", f"<ds:DigestValue>{PLACEHOLDER}<", x), "placeholder"),
])
def test_each_failure_is_named(keystore: d.GeneratedKeystore, mutate, reason: str) -> None:  # noqa: ANN001
    xml = mutate(_add().to_xml(keystore.signer_for(SUPPLIER_A)))
    with pytest.raises(d.SignatureInvalid) as caught:
        keystore.verifier().verify(xml)
    assert caught.value.reason == reason, caught.value


def test_a_signer_other_than_the_originator_is_named(keystore: d.GeneratedKeystore) -> None:
    xml = _add().to_xml(keystore.signer_for(SUPPLIER_B))
    with pytest.raises(d.SignatureInvalid, match="wrong signer: signed by .* not by User ID 90-B3-D5-1F-30-01-00-00"):
        keystore.verifier().verify(xml, signer_eui=SUPPLIER_A)


def test_a_second_signature_is_refused(keystore: d.GeneratedKeystore) -> None:
    xml = _add().to_xml(keystore.signer_for(SUPPLIER_A))
    signature = re.search(r"<ds:Signature[^>]*>.*</ds:Signature>", xml, re.S)[0]
    doubled = xml.replace("</sr:Body>", "</sr:Body>" + signature)
    with pytest.raises(d.SignatureInvalid) as caught:
        keystore.verifier().verify(doubled)
    assert caught.value.reason == "malformed"


def test_responses_are_signed_by_the_dcc(keystore: d.GeneratedKeystore) -> None:
    site = Site()
    response = site.send(d.ReadInventory(ESME), A)
    xml = response.to_xml(keystore.signer_for(DCC))
    assert keystore.verifier().verify(xml, signer_eui=DCC).signer.eui == DCC


# -- the emulated DCC verifies on receipt --------------------------------------------------------------------
def _site(keystore: d.Keystore) -> Site:
    return Site(signatures=d.DccSignatures(keystore.verifier(), keystore.signer_for(DCC)))


def test_the_dcc_accepts_a_request_signed_by_its_originator(keystore: d.GeneratedKeystore) -> None:
    site = _site(keystore)
    request = d.Request.build(d.ChfInstallSuccessSmWan(CHF, MPAN), originator=SUPPLIER_A, target=DCC, counter=1)
    assert site.dcc.submit(request.to_xml(keystore.signer_for(SUPPLIER_A)), A).code is RC.I0


def test_an_unknown_signer_gets_e1_and_nothing_else_happens(keystore: d.GeneratedKeystore) -> None:
    site = _site(keystore)
    stranger = d.GeneratedKeystore()  # another CA: its certificates are not in the DCC's keystore
    request = d.Request.build(d.ChfInstallSuccessSmWan(CHF, MPAN), originator=SUPPLIER_A, target=DCC, counter=5)
    refused = site.dcc.submit(request.to_xml(stranger.signer_for(SUPPLIER_A)), A)
    assert refused.code is RC.E1 and "unknown signer" in refused.detail
    assert site.dcc.ch_first_installed(CHF) is None
    # Refused before anti-replay: the same counter, properly signed, is still accepted.
    assert site.dcc.submit(request.to_xml(keystore.signer_for(SUPPLIER_A)), A).code is RC.I0


@pytest.mark.parametrize(("how", "named"), [("placeholder", "placeholder"), ("other user", "wrong signer"),
                                            ("tampered", "digest")])
def test_unsigned_wrongly_signed_or_changed_requests_get_e1(keystore: d.GeneratedKeystore, how: str,
                                                           named: str) -> None:
    site = _site(keystore)
    request = _add()
    if how == "placeholder":
        xml = request.to_xml()
    elif how == "other user":
        xml = request.to_xml(keystore.signer_for(SUPPLIER_B))
    else:
        xml = request.to_xml(keystore.signer_for(SUPPLIER_A)).replace(RTDS_CODE.hex().upper(), "00" * 16)
    refused = site.dcc.submit(xml, A)
    assert refused.code is RC.E1 and named in refused.detail
    assert site.dcc.queued() == [] and not site.hub.device_log.entries()


def test_the_refusal_code_is_an_option(keystore: d.GeneratedKeystore) -> None:
    site = Site(signatures=d.DccSignatures(keystore.verifier(), failure_code=RC.E2))
    assert site.send(d.ReadInventory(ESME), A, as_xml=True).code is RC.E2


def test_without_signatures_the_dcc_does_not_verify() -> None:
    """The default Dcc (unit tests of business rules) takes unsigned requests; the bench turns verification on."""
    assert Site().send(d.ReadInventory(ESME), A, as_xml=True).code is RC.I0


def test_the_sender_check_still_follows_the_signature_check(keystore: d.GeneratedKeystore) -> None:
    site = _site(keystore)
    request = d.Request.build(d.ReadInventory(ESME), originator=SUPPLIER_B, target=DCC, counter=1)
    assert site.dcc.submit(request.to_xml(keystore.signer_for(SUPPLIER_B)), A).code is RC.E1  # sender is not B
    assert "not the RequestID originator" in site.dcc.responses[-1].detail
    assert site.dcc.submit(request.to_xml(keystore.signer_for(SUPPLIER_B)), B).code is RC.I0


# -- secrets ---------------------------------------------------------------------------------------------------
def test_private_keys_appear_in_no_repr_or_message(keystore: d.GeneratedKeystore) -> None:
    signer = keystore.signer_for(SUPPLIER_A)
    [credential] = keystore.credentials_for(SUPPLIER_A)
    key = credential.private_key
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    scalar = key.private_numbers().private_value
    secrets = (base64.b64encode(der).decode()[-40:], f"{scalar:x}", str(scalar))
    shown = " ".join([repr(signer), repr(credential), str(credential), repr(keystore), repr(keystore.verifier())])
    assert not any(s in shown for s in secrets)
    assert "PRIVATE" not in _add().to_xml(signer)


def test_a_user_id_without_a_key_is_a_clear_error() -> None:
    empty = d.Keystore(source="an empty keystore")
    with pytest.raises(d.NoCredential, match="no digital-signature key for User ID 90-B3-D5-1F-30-01-00-00 in an "
                       "empty keystore"):
        empty.signer_for(SUPPLIER_A)
