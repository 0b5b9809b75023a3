"""OpenSSL's CLI as an independent oracle for sect283k1: private -> public key, and point decompression.

The system `openssl` (Debian 3.0.x builds keep binary curves) gets minimal DER: a SEC1 ECPrivateKey or a
SubjectPublicKeyInfo with the named curve 1.3.132.0.16. Missing openssl (or one without sect283k1) skips, or fails
under SMETS2_REQUIRE_OPENSSL=1 as in CI (`make openssl` installs it).
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess

import pytest

from harness.zigbee.cbke import curve, field

REQUIRE_ENV = "SMETS2_REQUIRE_OPENSSL"
_OID_SECT283K1 = bytes.fromhex("06052B81040010")
_OID_EC_PUBLIC_KEY = bytes.fromhex("06072A8648CE3D0201")
RNG = random.Random()


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    reason = None
    if path is None:
        reason = "openssl not installed (make test installs it with apt-get when run as root)"
    else:
        curves = subprocess.run([path, "ecparam", "-list_curves"], capture_output=True, text=True).stdout
        if "sect283k1" not in curves:
            reason = "this openssl has no sect283k1 (binary curves disabled in its build)"
    if reason:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    assert path is not None
    return path


def _der(tag: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([tag, len(body)]) + body


def _private_key_der(d: int) -> bytes:
    body = _der(0x02, b"\x01") + _der(0x04, d.to_bytes(36, "big")) + _der(0xA0, _OID_SECT283K1)
    return _der(0x30, body)


def _public_key_der(point: bytes) -> bytes:
    return _der(0x30, _der(0x30, _OID_EC_PUBLIC_KEY + _OID_SECT283K1) + _der(0x03, b"\x00" + point))


def _openssl_ec(openssl: str, der: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([openssl, "ec", "-inform", "DER", "-outform", "DER", *args], input=der,
                          capture_output=True)


def test_openssl_knows_the_curve_parameters(openssl: str) -> None:
    out = subprocess.run([openssl, "ecparam", "-name", "sect283k1", "-param_enc", "explicit", "-text", "-noout"],
                         capture_output=True, text=True, check=True).stdout
    digits = "".join(c for c in out.split("Order:")[1].split("Cofactor")[0] if c in "0123456789abcdef")
    assert int(digits, 16) == curve.N


def test_private_to_public_matches_openssl(openssl: str) -> None:
    for _ in range(6):
        d = RNG.randrange(1, curve.N)
        result = _openssl_ec(openssl, _private_key_der(d), "-pubout", "-conv_form", "compressed")
        assert result.returncode == 0, result.stderr
        assert result.stdout[-37:] == curve.encode_point(curve.public_key(d))


def test_point_decompression_matches_openssl(openssl: str) -> None:
    for _ in range(6):
        p = curve.public_key(RNG.randrange(1, curve.N))
        compressed = curve.encode_point(p)
        result = _openssl_ec(openssl, _public_key_der(compressed), "-pubin", "-pubout", "-conv_form", "uncompressed")
        assert result.returncode == 0, result.stderr
        assert result.stdout[-73:] == b"\x04" + field.to_bytes(p.x) + field.to_bytes(p.y)
        assert curve.decompress(compressed) == p


def test_openssl_also_refuses_an_x_with_no_point(openssl: str) -> None:
    while True:
        x = RNG.getrandbits(field.M)
        if x and field.solve_quadratic(x ^ field.inv(field.sqr(x))) is None:
            break
    result = _openssl_ec(openssl, _public_key_der(b"\x02" + field.to_bytes(x)), "-pubin", "-pubout")
    assert result.returncode != 0
