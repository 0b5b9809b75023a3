"""Signed DUIS against the DCC's own signing tool (dccboxed-signing-tool in npm @smartdcc/duis-sign-wrap 0.1.2,
run with java) and the DCC Boxed test keystore (npm @smartdcc/dccboxed-keystore 0.4.2):

* the tool validates what the harness signs (requests from each bench supplier, a DCC response, an RTDS template),
  and the bytes it digested are the harness's canonical form of the same document;
* the harness verifies what the tool signs, naming the same certificate;
* a changed body or signature fails in both; an unknown signer gets E1 from the emulated DCC;
* `duis check` reports who signed, or what failed.

Missing tools skip with the reason; SMETS2_REQUIRE_DCC_TOOLS=1 (CI) makes them fail instead (oracle.py).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from harness.bench.bench import GAINING, INSTALLING
from harness.cli import main
from harness.dcc_keystore import KeystoreUnavailable, bench_keystore, dcc_signatures, load_dcc_keystore
from harness.smets import duis as d
from harness.smets.duis.signing import PLACEHOLDER
from harness.smets.identities import Eui64
from tests.dcc_tools.oracle import KEYSTORE_FILE, SCHEMA_DIR, require_keystore, require_signing_tool, \
    require_templates
from tests.smets.premises import CHF, DCC, ESME, MPAN, RTDS_CODE, SUPPLIER_A
from tests.smets.test_dcc import A, Site

AT = datetime(2024, 3, 1, 9, 30, tzinfo=timezone.utc)
RC = d.ResponseCode


@pytest.fixture(scope="module")
def keystore() -> d.Keystore:
    return require_keystore()


@pytest.fixture(scope="module")
def tool():  # noqa: ANN201
    return require_signing_tool()


def _request(body: d.Body, originator=SUPPLIER_A, target=CHF, counter: int = 1002) -> d.Request:  # noqa: ANN001
    return d.Request.build(body, originator=originator, target=target, counter=counter)


def _serial(stderr: str) -> int:
    return int(re.search(r"certificate serial number: (\d+)", stderr)[1])


def _canonical_without_signature(xml: str) -> bytes:
    root = etree.fromstring(xml.encode())
    root.remove(root.find(f"{{{d.DS_NS}}}Signature"))
    return etree.tostring(root, method="c14n", exclusive=False, with_comments=False)


SIGNED = [
    ("8.11 add, installing supplier", INSTALLING,
     _request(d.UpdateHanDeviceLog.add(ESME, RTDS_CODE, join_time_period=90, import_mpxn=MPAN))),
    ("8.1.1, installing supplier", INSTALLING, _request(d.CommissionDevice(AT), target=ESME)),
    ("12.1, gaining supplier", GAINING,
     _request(d.RequestWanMatrix("M22 0RR", "1 Threapwood Road"), originator=GAINING.user_id, target=DCC)),
]


@pytest.mark.parametrize(("what", "party", "request_"), SIGNED, ids=[s[0] for s in SIGNED])
def test_the_dcc_tool_validates_what_the_harness_signs(keystore: d.Keystore, tool, what: str,  # noqa: ANN001
                                                       party, request_: d.Request) -> None:  # noqa: ANN001
    signer = keystore.signer_for(party.user_id)
    xml = request_.to_xml(signer)
    run = tool.validate(xml)
    assert run.returncode == 0, run.stderr
    assert "passed signature check" in run.stderr
    assert _serial(run.stderr) == signer.cert.serial
    # What the tool digested (it prints the referenced bytes) is the harness's inclusive C14N of the document.
    assert run.stdout.rstrip("\n").encode() == _canonical_without_signature(xml)


def test_the_dcc_tool_validates_the_emulated_dccs_signed_response(keystore: d.Keystore, tool) -> None:  # noqa: ANN001
    site = Site(signatures=dcc_signatures(keystore))
    request = d.Request.build(d.ReadInventory(ESME), originator=SUPPLIER_A, target=DCC, counter=1)
    response = site.dcc.submit(request.to_xml(keystore.signer_for(SUPPLIER_A)), A)
    assert response.code is RC.I0
    run = tool.validate(response.to_xml(site.dcc.signatures.signer))
    assert run.returncode == 0, run.stderr
    assert _serial(run.stderr) == keystore.signer_for(DCC).cert.serial  # dsp-xml-sign-90B3D51F30000002-ds


def test_the_dcc_tool_validates_an_rtds_template_the_harness_signs(keystore: d.Keystore, tool) -> None:  # noqa: ANN001
    """Any DUIS document: the DCC's own indented template, placeholder signature replaced by a real one."""
    template = next(t for t in require_templates() if t.name.startswith("CCS01_8.11"))
    data = template.read_bytes()
    originator = Eui64.parse(re.search(rb"<sr:RequestID>([^:<]+):", data)[1].decode())
    run = tool.validate(keystore.signer_for(originator).sign(data))
    assert run.returncode == 0, run.stderr


def test_the_dcc_tool_refuses_what_was_changed_after_the_harness_signed(keystore: d.Keystore,  # noqa: ANN001
                                                                        tool) -> None:
    xml = SIGNED[0][2].to_xml(keystore.signer_for(SUPPLIER_A))
    tampered = xml.replace(MPAN, "1312345678119")
    assert tool.validate(tampered).returncode == 10  # the tool's "validation failed"
    with pytest.raises(d.SignatureInvalid) as caught:
        keystore.verifier().verify(tampered)
    assert caught.value.reason == "digest"


@pytest.mark.parametrize("party", [INSTALLING, GAINING], ids=lambda p: p.name)
def test_the_harness_verifies_what_the_dcc_tool_signs(keystore: d.Keystore, tool, party) -> None:  # noqa: ANN001
    unsigned = _request(d.ReadInventory(ESME), originator=party.user_id, target=DCC).to_xml()
    run = tool.sign(unsigned)
    assert run.returncode == 0, run.stderr
    verified = keystore.verifier().verify(run.stdout, signer_eui=party.user_id)
    assert verified.signer.serial == _serial(run.stderr)
    # ... and picks the certificate the tool picks for that User ID (XmlSign first, else the Z1 organisation one).
    assert keystore.signer_for(party.user_id).cert.serial == verified.signer.serial
    # The emulated DCC takes the tool's signed request as from that User.
    site = Site(signatures=dcc_signatures(keystore))
    assert site.dcc.submit(run.stdout, party).code is RC.I0


def test_a_changed_tool_signature_fails_in_the_harness(keystore: d.Keystore, tool) -> None:  # noqa: ANN001
    signed = tool.sign(_request(d.ReadInventory(ESME), target=DCC).to_xml()).stdout
    value = re.search(r"<ds:SignatureValue>([^<]*)<", signed)[1]
    flipped = signed.replace(value, ("B" if value[0] == "A" else "A") + value[1:])
    with pytest.raises(d.SignatureInvalid) as caught:
        keystore.verifier().verify(flipped)
    assert caught.value.reason == "signature"
    assert tool.validate(flipped).returncode == 10


def test_the_tool_validates_a_generated_ca_signature_given_the_certificate(tool, tmp_path: Path) -> None:  # noqa: ANN001
    """The no-tools fallback signs in the same profile: the DCC's tool accepts it when handed the signer's cert."""
    generated = d.GeneratedKeystore(dcc_ids=[DCC])
    signer = generated.signer_for(SUPPLIER_A)
    pem = tmp_path / "signer.pem"
    pem.write_bytes(signer.cert.certificate.public_bytes(serialization.Encoding.PEM))
    run = tool.run("Validate", SIGNED[0][2].to_xml(signer), str(pem))
    assert run.returncode == 0 and "passed signature check" in run.stderr, run.stderr


def test_an_unknown_signer_gets_e1_from_the_dcc(keystore: d.Keystore) -> None:
    site = Site(signatures=dcc_signatures(keystore))
    stranger = d.GeneratedKeystore().signer_for(SUPPLIER_A)
    request = d.Request.build(d.ChfInstallSuccessSmWan(CHF, MPAN), originator=SUPPLIER_A, target=DCC, counter=1)
    refused = site.dcc.submit(request.to_xml(stranger), A)
    assert refused.code is RC.E1
    assert refused.detail.startswith("signature unknown signer: no certificate issuer 'CN=smets2-harness per-run "
                                     "test CA,OU=07'")
    assert "DCC Boxed test keystore" in refused.detail


def test_the_bench_signs_with_the_dcc_keystore_when_installed(keystore: d.Keystore) -> None:
    assert bench_keystore().source == keystore.source
    assert bench_keystore().signer_for(INSTALLING.user_id).cert.name == "xml-sign-90B3D51F30010000-ds"
    assert bench_keystore().signer_for(GAINING.user_id).cert.name == "Z1-supplier2-ds"
    assert bench_keystore().signer_for(DCC).cert.name == "dsp-xml-sign-90B3D51F30000002-ds"


def test_the_keystore_loader_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(KeystoreUnavailable, match=r"--keystore: .*nope\.json.*make dcc-tools"):
        load_dcc_keystore(tmp_path / "nope.json")
    # keystore.json 0.4.2 has one certificate that is not DER (mdr-ds): left out, and listed with why.
    [skipped] = require_keystore().skipped
    assert "90b3d51f30010009.digitalSignature" in skipped and "does not parse as DER X.509" in skipped


# -- duis check ----------------------------------------------------------------------------------------------
def test_duis_check_reports_the_signature(keystore: d.Keystore, tmp_path: Path,  # noqa: ANN001
                                          capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.xml"
    good.write_text(SIGNED[2][2].to_xml(keystore.signer_for(GAINING.user_id)))
    tampered = tmp_path / "tampered.xml"
    tampered.write_text(good.read_text().replace("Threapwood", "Threepwood"))
    stranger = tmp_path / "stranger.xml"
    stranger.write_text(SIGNED[0][2].to_xml(d.GeneratedKeystore().signer_for(SUPPLIER_A)))
    unsigned = tmp_path / "unsigned.xml"
    unsigned.write_text(SIGNED[0][2].to_xml())
    common = ["duis", "check", "--schema", str(SCHEMA_DIR), "--keystore", str(KEYSTORE_FILE)]

    assert main([*common, str(good)]) == 0
    out = capsys.readouterr().out
    assert f"{good}: signature: valid, signed by Z1-supplier2-ds (User ID 90-B3-D5-1F-30-03-00-00" in out

    assert main([*common, str(tampered), str(stranger), str(unsigned)]) == 2
    err = capsys.readouterr().err
    assert f"{tampered}: signature: digest: DigestValue does not match the document" in err
    assert f"{stranger}: signature: unknown signer: no certificate issuer 'CN=smets2-harness per-run test CA" in err
    assert f"{unsigned}: signature: placeholder: DigestValue is the RTDS placeholder" in err

    assert main([*common, "--allow-unsigned", str(unsigned)]) == 0
    assert f"{unsigned}: signature: unsigned (placeholder), accepted by --allow-unsigned" in capsys.readouterr().out


def test_duis_build_signs_with_the_originators_key(keystore: d.Keystore, tool,  # noqa: ANN001
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["duis", "build", "8.2", "--device", CHF.dcc, "--keystore", str(KEYSTORE_FILE)]) == 0
    xml = capsys.readouterr().out
    assert tool.validate(xml).returncode == 0
    assert main(["duis", "build", "8.2", "--device", CHF.dcc, "--unsigned"]) == 0
    assert f"<ds:DigestValue>{PLACEHOLDER}<" in capsys.readouterr().out


def test_the_alerts_in_a_bundle_are_signed_by_the_dcc_and_the_tool_accepts_them(keystore: d.Keystore, tool,  # noqa: ANN001
                                                                                 tmp_path: Path) -> None:
    from harness.bench.duis_evidence import observe_alerts
    from harness.evidence.bundle import EvidenceBundle
    from tests.dcc_tools.oracle import require_schema

    site = Site(signatures=dcc_signatures(keystore))
    bundle = EvidenceBundle(tmp_path, "tests/x.py::test_signed_alerts")
    observe_alerts(bundle, site.dcc)
    add = d.Request.build(d.UpdateHanDeviceLog.add(ESME, RTDS_CODE, import_mpxn=MPAN), originator=SUPPLIER_A,
                          target=CHF, counter=1)
    assert site.dcc.submit(add.to_xml(keystore.signer_for(SUPPLIER_A)), A).code is RC.I99
    site.hub.device_joined(ESME, bytes(16))  # CS14, then N24
    bundle.close("passed")

    documents = sorted((bundle.dir / "duis").iterdir())
    assert [p.name.split("-", 1)[1] for p in documents][-1] == "dcc-alert-N24.xml"
    assert any("device-alert-8F12" in p.name for p in documents)
    for path in documents:
        xml = path.read_text()
        assert require_schema().problems(xml) == [], path.name
        run = tool.validate(xml)
        assert run.returncode == 0, f"{path.name}: {run.stderr}"
        assert _serial(run.stderr) == keystore.signer_for(DCC).cert.serial
