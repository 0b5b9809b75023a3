"""CBKE crypto suite 2 against the SE spec Annex C vectors (research/vectors.md §4.3), not against our own output."""

from __future__ import annotations

import pytest

from harness.zigbee.cbke import agreement, curve
from harness.zigbee.cbke.certificate import CertificateError, parse_certificate, public_key_from

pytestmark = pytest.mark.usefixtures("each_curve_backend")  # every test on both curve backends

H = bytes.fromhex
CA_PUB = H("0207A445022D9F39F49BDC38380026A27A9E0A1799313AB28C5C1A1C6B605154DB1DFF6752")
CERT_V = H(
    "002622A505E8938F270D081112131415161718005292A35BFFFFFFFF0A0B0C0D0E0F1011880303B4E9DC543A64333C982308022B54"
    "E67E2F15F532551B0A11E2E2C1C1D3097A4324E7ED"
)
CERT_U = H(
    "0084A933B37F018DEC0D081112131415161718005292A38AFFFFFFFF0A0B0C0D0E0F10128803076277E2F7E2252B16A0E92B6E8771"
    "BB3F207946CBD4A45D9A9DF6EDAB8C796A48E89DEC"
)
STATIC_V = 0x0151CD0DBCB80474BF7AC9FEEBE39C7A32A63518938FCA9754AAE132BC9C73BE94A7E1BE
STATIC_PUB_V = H("0202F4FA2A3040433C6820299D182A1042E41404E337C57F47716B42DFAF970F1580A04C9B")
EPH_V = 0x03D48C7210DDBCC4FB2E5E7A0AA16A0DB89540820B8DC091AB521EA824AFE117CADE995B
QEV = H("03009A5131CF5B92A016378C0F7F284ECD47F94010F875D43BF1E9A65474ADBFC63696A930")
STATIC_U = 0x00F2561ADB39EF49C1D62EF5186C6E0C158A5A45BFCE38660931ACC3694592D5ACDE9006
STATIC_PUB_U = H("03030E56F7ADE866E76372764BA20A9FF1FE4CAE522F94839E70F2ADFC1CA3E97F4DDCAF2E")
EPH_U = 0x0013D36DE4B1EA8E22739C381370823F404BFF8862B521FECA9871FB3691846D361304B4
QEU = H("0305F3394E15680660EECAA36788D9B6F312B971CE2C9617570BF7DFCD21C972017762C332")
Z = H("04F7724A9A77B21D2747CCEF68A457E45246C4BE9F66FD9425227BCB2CC5180EA9CCCB9A")
MAC_KEY = H("ED380A00296600FB6B893025DE5FD137")
KEY_DATA = H("AA4689C70BE0FAF0C9BE534ABD9F4CDC")
MACU = H("BF7E1A26D4EF7038B56813E465A131C9")
MACV = H("C5B432A9995A092F4449F83613930064")
ID_U = H("0A0B0C0D0E0F1012")
ID_V = H("0A0B0C0D0E0F1011")

# The two extra Certicom-format test certificates (vectors.md §4.3, cs2_test1.txt); "priv" is the private key.
EXTRA = [
    (
        "008e99d80082c5278b0d08111213141516171800595e2a59ffffffff20000000000000000802032ed67f6571e22cb1a0c1adbd15e3"
        "4bc102003a714ea34e7309a537f26d1e936daecfe1",
        0x00EFF081369A882AEB53D454633FC813E5AA76A1498A437BEFD7F14A5E3D8B2B1F47E0F0,
        "0306299852b92bd390c0b9d56667e5d5583d8c2bb23fee6f2b8cec558ec260acd5c2a6f7b9",
        "2000000000000000",
        0x08,
    ),
    (
        "006cd4ea5002dd01d20d08111213141516171800595e2a92ffffffff20000000000000010803031fece33d02bf62b735affdd9607d"
        "a85b98acf47ae0e9d26bdf41bfba337ce5f0ab7289",
        0x0057E4300D19E57C1A4CDE992EEBD1D1EC2B8C23BB022F0E63C6716F433EFEDCD82B1395,
        "02061c5f0b529f33cc53eb6108d0bd26cd4561fbaecf61cd94975ece3d9d54b6fe9a192c92",
        "2000000000000001",
        0x08,
    ),
]


def test_ca_public_key_is_a_valid_point_of_order_n() -> None:
    ca = curve.decode_point(CA_PUB)
    assert curve.on_curve(ca) and curve.in_subgroup(ca)
    assert curve.encode_point(ca) == CA_PUB


def test_certificate_fields() -> None:
    cert = parse_certificate(CERT_V)
    assert cert.serial == H("2622A505E8938F27")
    assert cert.issuer_hex == "1112131415161718"
    assert cert.valid_from == 0x005292A35B
    assert cert.expires is None
    assert cert.subject == ID_V
    assert cert.key_usage == 0x88
    assert cert.reconstruction.hex().upper().startswith("0303B4E9")


@pytest.mark.parametrize(
    ("cert", "private", "public"), [(CERT_V, STATIC_V, STATIC_PUB_V), (CERT_U, STATIC_U, STATIC_PUB_U)]
)
def test_static_keys_priv_to_pub_and_ecqv(cert: bytes, private: int, public: bytes) -> None:
    assert curve.encode_point(curve.public_key(private)) == public
    ca = curve.decode_point(CA_PUB)
    assert curve.encode_point(public_key_from(parse_certificate(cert), ca)) == public


@pytest.mark.parametrize(("private", "public"), [(EPH_V, QEV), (EPH_U, QEU)])
def test_ephemeral_keys(private: int, public: bytes) -> None:
    assert curve.encode_point(curve.public_key(private)) == public
    assert curve.encode_point(curve.decode_point(public)) == public


def test_shared_secret_both_sides() -> None:
    ca = curve.decode_point(CA_PUB)
    q_u = public_key_from(parse_certificate(CERT_U), ca)
    q_v = public_key_from(parse_certificate(CERT_V), ca)
    qeu, qev = curve.decode_point(QEU), curve.decode_point(QEV)
    assert agreement.shared_secret(STATIC_U, EPH_U, qeu, q_v, qev) == Z
    assert agreement.shared_secret(STATIC_V, EPH_V, qev, q_u, qeu) == Z


def test_shared_secret_with_certificate_folds_ecqv_in() -> None:
    ca = curve.decode_point(CA_PUB)
    cert_v = parse_certificate(CERT_V)
    p_v = curve.decode_point(cert_v.reconstruction)
    qeu, qev = curve.decode_point(QEU), curve.decode_point(QEV)
    assert agreement.shared_secret_with_certificate(STATIC_U, EPH_U, qeu, cert_v, p_v, ca, qev) == Z
    cert_u = parse_certificate(CERT_U)
    p_u = curve.decode_point(cert_u.reconstruction)
    assert agreement.shared_secret_with_certificate(STATIC_V, EPH_V, qev, cert_u, p_u, ca, qeu) == Z


def test_shared_secret_without_cofactor_is_wrong() -> None:
    # vectors.md §4.1: without h the result is 048F04DA..., not Z. Guards against dropping the cofactor.
    ca = curve.decode_point(CA_PUB)
    q_v = public_key_from(parse_certificate(CERT_V), ca)
    qeu, qev = curve.decode_point(QEU), curve.decode_point(QEV)
    s = (EPH_U + agreement.associate_value(qeu) * STATIC_U) % curve.N
    p = curve.multiply_many([(s, qev), (s * agreement.associate_value(qev), q_v)])
    assert p is not None
    assert p.x.to_bytes(36, "big").hex().upper().startswith("048F04DA")


def test_kdf_and_macs() -> None:
    keys = agreement.derive_keys(Z)
    assert keys.mac_key == MAC_KEY
    assert keys.key_data == KEY_DATA
    assert agreement.mac_u(MAC_KEY, ID_U, ID_V, QEU, QEV) == MACU
    assert agreement.mac_v(MAC_KEY, ID_U, ID_V, QEU, QEV) == MACV


@pytest.mark.parametrize(("cert_hex", "private", "public_hex", "subject", "usage"), EXTRA)
def test_extra_test_certificates(cert_hex: str, private: int, public_hex: str, subject: str, usage: int) -> None:
    cert = parse_certificate(H(cert_hex))
    assert cert.subject_hex == subject.upper()
    assert cert.key_usage == usage
    assert cert.issuer_hex == "1112131415161718"
    public = H(public_hex)
    assert curve.encode_point(curve.public_key(private)) == public
    assert curve.encode_point(public_key_from(cert, curve.decode_point(CA_PUB))) == public


def test_certificate_with_bad_curve_or_length_is_refused() -> None:
    with pytest.raises(CertificateError, match="length"):
        parse_certificate(CERT_V[:73])
    bad = bytearray(CERT_V)
    bad[9] = 0x0C
    with pytest.raises(CertificateError, match="curve"):
        parse_certificate(bytes(bad))
    bad = bytearray(CERT_V)
    bad[10] = 0x07
    with pytest.raises(CertificateError, match="hash"):
        parse_certificate(bytes(bad))
