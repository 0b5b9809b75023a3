"""GF(2^283) and sect283k1 arithmetic against slow, obviously-right references written here."""

from __future__ import annotations

import random

import pytest

from harness.zigbee.cbke import curve, field
from harness.zigbee.cbke.certificate import CertificateAuthority, parse_certificate, public_key_from
from harness.zigbee.cbke.curve import InvalidPoint, Point

pytestmark = pytest.mark.usefixtures("each_curve_backend")  # every test on both curve backends

RNG = random.Random(0x283)


def slow_mul(a: int, b: int) -> int:
    c = 0
    while b:
        if b & 1:
            c ^= a
        a <<= 1
        b >>= 1
    for bit in range(c.bit_length() - 1, field.M - 1, -1):
        if c >> bit & 1:
            c ^= field.POLY << (bit - field.M)
    return c


def slow_trace(a: int) -> int:
    t, s = a, a
    for _ in range(field.M - 1):
        s = slow_mul(s, s)
        t ^= s
    assert t in (0, 1)
    return t


def slow_scalar(k: int, p: Point) -> Point | None:
    acc = None
    for bit in bin(k)[2:]:
        acc = curve.add(acc, acc)
        if bit == "1":
            acc = curve.add(acc, p)
    return acc


def random_point() -> Point:
    """A random point of E (any order): pick x until y^2 + xy = x^3 + 1 has a root."""
    while True:
        x = RNG.getrandbits(field.M)
        z = field.solve_quadratic(x ^ field.inv(field.sqr(x)))
        if x and z is not None:
            return Point(x, field.mul(x, z))


def test_field_mul_sqr_inv_against_schoolbook() -> None:
    for _ in range(20):
        a, b = RNG.getrandbits(field.M), RNG.getrandbits(field.M)
        assert field.mul(a, b) == slow_mul(a, b)
        assert field.sqr(a) == slow_mul(a, a)
        if a:
            assert field.mul(a, field.inv(a)) == 1


def test_trace_against_definition() -> None:
    values = [1, 2, 1 << 271, 1 << 282] + [RNG.getrandbits(field.M) for _ in range(4)]
    for a in values:
        assert field.trace(a) == slow_trace(a)


def test_quadratic_solver() -> None:
    for _ in range(50):
        c = RNG.getrandbits(field.M)
        z = field.solve_quadratic(c)
        if field.trace(c):
            assert z is None
        else:
            assert z is not None and field.sqr(z) ^ z == c


def test_generator_and_order() -> None:
    assert curve.on_curve(curve.G)
    assert slow_scalar(curve.N, curve.G) is None
    assert slow_scalar(curve.N - 1, curve.G) == curve.negate(curve.G)


def test_subgroup_test_agrees_with_n_times_p() -> None:
    seen = {True: 0, False: 0}
    for _ in range(24):
        p = random_point()
        assert curve.on_curve(p)
        expected = slow_scalar(curve.N, p) is None
        assert curve.in_subgroup(p) == expected
        seen[expected] += 1
        q = slow_scalar(4, p)  # 4P is always in the subgroup
        if q is not None:
            assert curve.in_subgroup(q)
    assert seen[False] > 0  # the sample exercised the refusal path
    assert not curve.in_subgroup(Point(0, 1))  # the point of order 2


def test_tnaf_multiplication_against_double_and_add() -> None:
    points = [curve.G, slow_scalar(4, random_point())]
    for p in points:
        assert p is not None
        for k in [1, 2, 3, 7, curve.N - 1, curve.N + 5, 1 << 200] + [RNG.randrange(1, curve.N) for _ in range(3)]:
            assert curve.multiply(k, p) == slow_scalar(k % curve.N, p), k
    assert curve.multiply(curve.N, curve.G) is None


def test_multiply_many_is_the_sum() -> None:
    p = curve.multiply(12345, curve.G)
    q = curve.multiply(67890, curve.G)
    assert p is not None and q is not None
    a, b, c = (RNG.randrange(1, curve.N) for _ in range(3))
    expected = curve.add(curve.add(slow_scalar(a, p), slow_scalar(b, q)), slow_scalar(c, curve.G))
    assert curve.multiply_many([(a, p), (b, q), (c, curve.G)]) == expected


def test_encoding_round_trip_and_uncompressed_form() -> None:
    for _ in range(5):
        p = curve.multiply(RNG.randrange(1, curve.N), curve.G)
        assert p is not None
        data = curve.encode_point(p)
        assert len(data) == 37 and data[0] in (2, 3)
        assert curve.decode_point(data) == p
        assert curve.decode_point(b"\x04" + field.to_bytes(p.x) + field.to_bytes(p.y)) == p


def test_invalid_points_are_refused() -> None:
    # x with no point on the curve
    while True:
        x = RNG.getrandbits(field.M)
        if x and field.solve_quadratic(x ^ field.inv(field.sqr(x))) is None:
            break
    with pytest.raises(InvalidPoint, match="no point"):
        curve.decode_point(b"\x02" + field.to_bytes(x))
    # on the curve but not of order n
    while True:
        p = random_point()
        if not curve.in_subgroup(p):
            break
    with pytest.raises(InvalidPoint, match="subgroup"):
        curve.decode_point(curve.encode_point(p))
    with pytest.raises(InvalidPoint, match="subgroup"):
        curve.decode_point(b"\x02" + bytes(36))  # x = 0: the point of order 2
    with pytest.raises(InvalidPoint, match="out of range"):
        curve.decode_point(b"\x02" + b"\xff" * 36)
    with pytest.raises(InvalidPoint, match="not a SEC1"):
        curve.decode_point(b"\x05" + bytes(36))
    with pytest.raises(InvalidPoint):
        curve.decode_point(b"\x04" + field.to_bytes(p.x) + field.to_bytes(p.y ^ 1))


def test_a_point_decoded_again_is_not_validated_again_and_a_refused_one_is_refused_every_time(monkeypatch) -> None:
    decompressions: list[bytes] = []
    real = curve.decompress

    def counting(data: bytes) -> Point:
        decompressions.append(bytes(data))
        return real(data)

    monkeypatch.setattr(curve, "decompress", counting)
    p = curve.multiply(RNG.randrange(1, curve.N), curve.G)  # a point no other test decoded
    assert p is not None
    data = curve.encode_point(p)
    assert curve.decode_point(data) == curve.decode_point(bytearray(data)) == p
    assert decompressions == [data]
    while True:
        q = random_point()
        if not curve.in_subgroup(q):
            break
    for _ in range(2):  # nothing cached for a refusal: each attempt validates and raises
        with pytest.raises(InvalidPoint, match="subgroup"):
            curve.decode_point(curve.encode_point(q))
    assert decompressions[1:] == [curve.encode_point(q)] * 2


def test_test_ca_issues_certificates_that_reconstruct() -> None:
    ca = CertificateAuthority.generate(bytes.fromhex("5445535443413031"))
    creds = ca.issue(bytes.fromhex("0011223344556677"), valid_from=1_700_000_000, valid_to=3600)
    cert = parse_certificate(creds.certificate)
    assert cert.issuer_hex == "5445535443413031"
    assert cert.subject_hex == "0011223344556677"
    assert cert.expires == 1_700_003_600
    assert cert.valid_at(1_700_000_000) and not cert.valid_at(1_700_003_601)
    q = public_key_from(cert, curve.decode_point(ca.public_key))
    assert curve.encode_point(q) == creds.public_key
    assert "redacted" in repr(creds) and str(creds.private_key) not in repr(creds)


def test_the_backends_field_inverse_agrees_with_the_pure_one() -> None:
    active = curve._active()
    values = [1, 2, field.POLY ^ (1 << field.M)] + [RNG.getrandbits(field.M) or 1 for _ in range(50)]
    for a in values:
        inverse = curve._inverse(a)
        assert field.mul(a, inverse) == 1 and inverse == field.inv(a)
    if active is not None:  # the libcrypto backend answers itself, not through the pure code
        assert active.inverse(values[3]) == field.inv(values[3])
