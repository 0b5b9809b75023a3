"""sect283k1 (SEC 2 v2 §3.4; ZigBee SE crypto suite 2): points, SEC1 encoding, validation, fast multiplication.

E: y^2 + xy = x^3 + 1 over GF(2^283) (a = 0, b = 1), #E = 4n. It is a Koblitz curve, so the Frobenius map
tau(x, y) = (x^2, y^2) is an endomorphism with tau^2 + tau + 2 = 0 (mu = -1). Scalar multiplication writes the
scalar, reduced modulo delta = (tau^283 - 1)/(tau - 1), in width-4 tau-adic NAF (Solinas 2000; Hankerson,
Menezes, Vanstone, "Guide to ECC", Alg. 3.65-3.70), so the main loop is 283 Frobenius maps (three squarings in
López-Dahab coordinates) and about 57 mixed additions; several scalars share one loop (interleaving).

Points from outside go through `decode_point`, which checks the encoding, that the point is on the curve and that
it lies in the order-n subgroup. The subgroup test uses point halving: since E(F_2^283) = Z/4 x Z/n, a point is
in the order-n subgroup iff it is in 4E, and for these curves P = (x, y) is in 2E iff Tr(x) = Tr(a) (= 0), and a
half of P then has x-coordinate u with u^2 = y + x(lambda + 1), lambda^2 + lambda = x (Knudsen 1999; Guide to
ECC §3.6). Both halves give the same answer here because the 2-torsion point is itself in 2E. The test in
tests/zigbee/test_cbke_curve.py checks this against n*P by plain affine double-and-add.

Two backends do the multiplications (`multiply_many`, `public_key`) and the field inversion that point compression
and decompression need; everything else here is the same for both.
The pure one is the above. `libcrypto` (libcrypto.py) hands them to the system's OpenSSL, about 10-25x faster, and
is used by default where it loads and agrees with the pure code on a known answer; SMETS2_CURVE_BACKEND=python
(or `set_backend`) keeps the pure one, =libcrypto insists on OpenSSL.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Final, NamedTuple

from harness.zigbee.cbke import field as gf
from harness.zigbee.cbke import libcrypto
from harness.zigbee.cbke.libcrypto import Libcrypto
from harness.zigbee.cbke.field import inv, mul, mul_by_table, mul_table, solve_quadratic, sqr, trace

# SEC 2 v2 §3.4.2 (also `openssl ecparam -name sect283k1 -param_enc explicit -text`).
N: Final = 0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFE9AE2ED07577265DFF7F94451E061E163C61
COFACTOR: Final = 4
GX: Final = 0x0503213F78CA44883F1A3B8162F188E553CD265F23C1567A16876913B0C2AC2458492836
GY: Final = 0x01CCDA380F1C9E318D90F95D07E5426FE87E45C0E8184698E45962364E34116177DD2259
SCALAR_BYTES: Final = 36
POINT_BYTES: Final = 37  # SEC1 compressed: 02/03 || x


class Point(NamedTuple):
    """An affine point other than the point at infinity (which the code writes as None)."""

    x: int
    y: int


G: Final = Point(GX, GY)


class InvalidPoint(ValueError):
    """Bytes that are not a valid sect283k1 point of order n."""


# --- affine arithmetic (simple; used for set-up work and as the tests' reference) ---


def on_curve(p: Point) -> bool:
    x, y = p
    if x >> gf.M or y >> gf.M:
        return False
    return sqr(y) ^ mul(x, y) == mul(sqr(x), x) ^ 1


def negate(p: Point | None) -> Point | None:
    return None if p is None else Point(p.x, p.x ^ p.y)


def add(p: Point | None, q: Point | None) -> Point | None:
    """p + q in affine coordinates (Guide to ECC §3.1.2), with every special case."""
    if p is None:
        return q
    if q is None:
        return p
    if p.x == q.x:
        if p.y != q.y or p.x == 0:  # q = -p, or p = q of order 2
            return None
        lam = p.x ^ mul(p.y, inv(p.x))
        x3 = sqr(lam) ^ lam
        return Point(x3, sqr(p.x) ^ mul(lam, x3) ^ x3)
    lam = mul(p.y ^ q.y, inv(p.x ^ q.x))
    x3 = sqr(lam) ^ lam ^ p.x ^ q.x
    return Point(x3, mul(lam, p.x ^ x3) ^ x3 ^ p.y)


def in_subgroup(p: Point) -> bool:
    """True iff the on-curve point p has order n (see the module docstring for why this is 4E)."""
    if trace(p.x):
        return False
    lam = solve_quadratic(p.x)
    assert lam is not None  # Tr(x) = 0 guarantees a root
    return trace(p.y ^ mul(p.x, lam)) == 0


# --- SEC1 encoding (SEC 1 v2 §2.3.3-2.3.4) ---


def _inverse(a: int) -> int:
    # Compression and decompression each need one (14 a fleet premises); the affine `add` keeps the pure one.
    fast = _active()
    return inv(a) if fast is None else fast.inverse(a)


def encode_point(p: Point) -> bytes:
    """The 37-byte compressed form: 02/03 (the low bit of y/x) || x."""
    y_bit = 0 if p.x == 0 else mul(p.y, _inverse(p.x)) & 1
    return bytes([2 | y_bit]) + gf.to_bytes(p.x)


def decompress(data: bytes) -> Point:
    """Octet string -> point (compressed or uncompressed form), checking only that it lies on the curve."""
    data = bytes(data)
    if len(data) == POINT_BYTES and data[0] in (2, 3):
        x = int.from_bytes(data[1:], "big")
        if x >> gf.M:
            raise InvalidPoint(f"x-coordinate out of range: {data.hex()}")
        if x == 0:
            return Point(0, 1)  # y = sqrt(b)
        z = solve_quadratic(x ^ _inverse(sqr(x)))  # y = x z with z^2 + z = x + a + b/x^2
        if z is None:
            raise InvalidPoint(f"no point with this x-coordinate on sect283k1: {data.hex()}")
        if z & 1 != data[0] & 1:
            z ^= 1
        return Point(x, mul(x, z))
    if len(data) == 1 + 2 * gf.BYTES and data[0] == 4:
        p = Point(int.from_bytes(data[1:37], "big"), int.from_bytes(data[37:], "big"))
        if not on_curve(p):
            raise InvalidPoint(f"point not on sect283k1: {data.hex()}")
        return p
    raise InvalidPoint(f"not a SEC1 point encoding for sect283k1 ({len(data)} bytes): {data.hex()}")


def decode_point(data: bytes) -> Point:
    """A point received from outside: decoded, on the curve, and of order n (SEC 1 §3.2.2 validation)."""
    return _decode_point(bytes(data))


# The answer depends on the octets alone, and the same octets come back: key establishment checks each received
# point when the frame arrives and the SMAC calculation decodes it again, and every engine decodes its CA's key
# (10 decodings a fleet premises, 4 distinct, ~65 us each). A refused point raises every time (nothing is cached).
@lru_cache(maxsize=1024)
def _decode_point(data: bytes) -> Point:
    p = decompress(data)
    if not in_subgroup(p):
        raise InvalidPoint(f"point is not in the order-n subgroup of sect283k1: {data.hex()}")
    return p


# --- Z[tau] arithmetic and the width-w tau-adic NAF ---

MU: Final = -1
WIDTH: Final = 4


def _zmul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    # (a0 + a1 t)(b0 + b1 t) with t^2 = mu t - 2
    return a[0] * b[0] - 2 * a[1] * b[1], a[0] * b[1] + a[1] * b[0] + MU * a[1] * b[1]


def _norm(a: tuple[int, int]) -> int:
    return a[0] * a[0] + MU * a[0] * a[1] + 2 * a[1] * a[1]


def _conj(a: tuple[int, int]) -> tuple[int, int]:
    return a[0] + MU * a[1], -a[1]


def _round_div(num: int, den: int) -> int:
    return (2 * num + den) // (2 * den)


def _tau_power(k: int) -> tuple[int, int]:
    # tau^k = U_k tau - 2 U_(k-1), with the Lucas sequence U_0 = 0, U_1 = 1, U_(i+1) = mu U_i - 2 U_(i-1)
    u_prev, u = 0, 1
    for _ in range(k - 1):
        u_prev, u = u, MU * u - 2 * u_prev
    return -2 * u_prev, u


def _delta() -> tuple[int, int]:
    num = _tau_power(gf.M)
    num = (num[0] - 1, num[1])
    den = (-1, 1)  # tau - 1
    q = _zmul(num, _conj(den))
    d = _norm(den)
    assert q[0] % d == 0 and q[1] % d == 0
    return q[0] // d, q[1] // d


DELTA: Final = _delta()
assert _norm(DELTA) == N  # N(delta) = #E / #E(F_2) = 4n / 4


def _tw() -> int:
    # The image of tau in Z[tau]/(tau^w) = Z/2^w: the root of t^2 - mu t + 2 with 2-adic valuation 1.
    modulus = 1 << WIDTH
    roots = [t for t in range(modulus) if (t * t - MU * t + 2) % modulus == 0 and t % 4 == 2]
    assert len(roots) == 1
    return roots[0]


TW: Final = _tw()


def _alphas() -> dict[int, tuple[int, int]]:
    # alpha_u = the element of least norm congruent to u modulo tau^w, for odd 0 < u < 2^(w-1).
    modulus = 1 << WIDTH
    out: dict[int, tuple[int, int]] = {}
    span = range(-modulus, modulus + 1)
    for u in range(1, modulus // 2, 2):
        candidates = [(b0, b1) for b0 in span for b1 in span if (b0 + b1 * TW - u) % modulus == 0]
        out[u] = min(candidates, key=lambda c: (_norm(c), abs(c[0]) + abs(c[1]), c))
    return out


ALPHAS: Final = _alphas()


def reduce_scalar(k: int) -> tuple[int, int]:
    """rho = k mod delta, an element of Z[tau] with N(rho) <= n and rho*P = k*P for every P of order n."""
    s0, s1 = DELTA
    c0, c1 = _conj(DELTA)
    q0 = _round_div(k * c0, N)
    q1 = _round_div(k * c1, N)
    qd = _zmul((q0, q1), (s0, s1))
    return k - qd[0], -qd[1]


def tnaf(r: tuple[int, int], width: int = WIDTH) -> list[int]:
    """The width-w tau-adic NAF of r0 + r1 tau, least significant digit first (Guide to ECC Alg. 3.69)."""
    r0, r1 = r
    modulus, half = 1 << width, 1 << (width - 1)
    alphas = ALPHAS if width == WIDTH else None
    digits: list[int] = []
    while r0 or r1:
        if r0 & 1:
            u = (r0 + r1 * TW) % modulus if alphas is not None else (r0 - 2 * r1) % modulus
            if u >= half:
                u -= modulus
            if alphas is not None:
                b0, b1 = alphas[u] if u > 0 else alphas[-u]
                if u < 0:
                    b0, b1 = -b0, -b1
            else:
                b0, b1 = u, 0
            r0 -= b0
            r1 -= b1
            digits.append(u)
        else:
            digits.append(0)
        half_r0 = r0 >> 1  # r0 is even here; (r0 + r1 tau) / tau = (r1 + mu r0/2) - (r0/2) tau
        r0, r1 = r1 + MU * half_r0, -half_r0
    return digits


# --- López-Dahab coordinates: x = X/Z, y = Y/Z^2 ---

_Ld = tuple[int, int, int]


class _Precomputed(NamedTuple):
    x: int
    y: int
    tx: tuple[int, ...]
    ty: tuple[int, ...]
    txy: tuple[int, ...]


def _ld_double(p: _Ld) -> _Ld | None:
    x1, y1, z1 = p
    if x1 == 0:
        return None
    t = sqr(z1)
    z3 = mul(sqr(x1), t)
    t2 = sqr(t)
    x3 = sqr(sqr(x1)) ^ t2  # b = 1
    y3 = mul(t2, z3) ^ mul(x3, sqr(y1) ^ t2)  # a = 0
    return x3, y3, z3


def _ld_add_affine(p: _Ld | None, x2: int, y2: int, tx, ty, txy) -> _Ld | None:
    """p + (x2, y2), mixed López-Dahab + affine addition for a = 0 (Guide to ECC Alg. 3.25)."""
    if p is None:
        return x2, y2, 1
    x1, y1, z1 = p
    z1s = sqr(z1)
    a = mul_by_table(ty, z1s) ^ y1
    b = mul_by_table(tx, z1) ^ x1
    if b == 0:
        return _ld_double((x2, y2, 1)) if a == 0 else None
    c = mul(z1, b)
    d = mul(sqr(b), c)
    z3 = sqr(c)
    e = mul(a, c)
    x3 = sqr(a) ^ d ^ e
    f = x3 ^ mul_by_table(tx, z3)
    g = mul_by_table(txy, sqr(z3))
    return x3, mul(e ^ z3, f) ^ g, z3


def _ld_frobenius(p: _Ld | None) -> _Ld | None:
    return None if p is None else (sqr(p[0]), sqr(p[1]), sqr(p[2]))


def _ld_to_affine_batch(points: list[_Ld | None]) -> list[Point | None]:
    """Montgomery's trick: one inversion for the lot."""
    live = [p for p in points if p is not None]
    prefix = [1]
    for p in live:
        prefix.append(mul(prefix[-1], p[2]))
    inverse = inv(prefix[-1]) if live else 1
    inverses = [0] * len(live)
    for i in range(len(live) - 1, -1, -1):
        inverses[i] = mul(inverse, prefix[i])
        inverse = mul(inverse, live[i][2])
    out: list[Point | None] = []
    it = iter(zip(live, inverses))
    for p in points:
        if p is None:
            out.append(None)
            continue
        (x, y, _z), iz = next(it)
        out.append(Point(mul(x, iz), mul(y, sqr(iz))))
    return out


def _with_tables(p: Point) -> _Precomputed:
    # 16-entry tables; 256-entry ones (field.mul_table8) measured no faster here, their build eats the gain
    return _Precomputed(p.x, p.y, mul_table(p.x), mul_table(p.y), mul_table(p.x ^ p.y))


def _evaluate(terms: list[tuple[list[int], dict[int, _Precomputed]]]) -> _Ld | None:
    """sum over terms of (digits evaluated at tau) * base, by Horner's rule with one shared accumulator."""
    length = max((len(d) for d, _ in terms), default=0)
    acc: _Ld | None = None
    for i in range(length - 1, -1, -1):
        acc = _ld_frobenius(acc)
        for digits, table in terms:
            if i < len(digits) and digits[i]:
                u = digits[i]
                if u > 0:
                    t = table[u]
                    acc = _ld_add_affine(acc, t.x, t.y, t.tx, t.ty, t.txy)
                else:
                    t = table[-u]  # -(x, y) = (x, x + y)
                    acc = _ld_add_affine(acc, t.x, t.x ^ t.y, t.tx, t.txy, t.ty)
    return acc


def _precompute(p: Point) -> dict[int, _Precomputed]:
    """alpha_u * p for the odd u < 2^(w-1), as affine points with their multiplication tables."""
    base = {1: _with_tables(p)}
    ld_points: list[_Ld | None] = []
    keys = [u for u in ALPHAS if u != 1]
    for u in keys:
        ld_points.append(_evaluate([(tnaf(ALPHAS[u], width=2), base)]))
    for u, q in zip(keys, _ld_to_affine_batch(ld_points)):
        if q is None:  # only possible for a point of small order, which decode_point refuses
            raise InvalidPoint("point of small order in scalar multiplication")
        base[u] = _with_tables(q)
    return base


@lru_cache(maxsize=8)
def _precompute_cached(p: Point) -> dict[int, _Precomputed]:
    # For points used again and again (the generator, a CA key).
    return _precompute(p)


def multiply_many(terms: list[tuple[int, Point]], *, fixed: tuple[Point, ...] = (G,)) -> Point | None:
    """sum of k_i * P_i for points P_i of order n. Scalars are taken mod n. `fixed` names points the pure
    backend keeps tables for (the generator, a CA key)."""
    fast = _active()
    if fast is None:
        return _multiply_many_tnaf(terms, fixed=fixed)
    reduced = [(k % N, None if p == G else (p.x, p.y)) for k, p in terms]
    q = fast.multiply_sum([t for t in reduced if t[0]])
    return None if q is None else Point(*q)


def _multiply_many_tnaf(terms: list[tuple[int, Point]], *, fixed: tuple[Point, ...] = (G,)) -> Point | None:
    """The pure backend: one shared Frobenius chain for all the terms."""
    prepared = []
    for k, p in terms:
        k %= N
        if k == 0:
            continue
        table = _precompute_cached(p) if p in fixed else _precompute(p)
        prepared.append((tnaf(reduce_scalar(k)), table))
    result = _evaluate(prepared)
    return _ld_to_affine_batch([result])[0]


def multiply(k: int, p: Point) -> Point | None:
    """k * p for p of order n."""
    return multiply_many([(k, p)])


_FIXED_BASE: list[dict[int, _Precomputed]] = []


def _fixed_base_table(length: int) -> list[dict[int, _Precomputed]]:
    """tau^i (alpha_u G) for i < length: with these, d G needs no Frobenius maps at all, only additions."""
    if not _FIXED_BASE:
        _FIXED_BASE.append(_precompute_cached(G))
    while len(_FIXED_BASE) < length:
        _FIXED_BASE.append({u: _with_tables(Point(sqr(t.x), sqr(t.y))) for u, t in _FIXED_BASE[-1].items()})
    return _FIXED_BASE


def _multiply_generator(k: int) -> Point | None:
    digits = tnaf(reduce_scalar(k % N))
    table = _fixed_base_table(len(digits))
    acc: _Ld | None = None
    for i, u in enumerate(digits):
        if u > 0:
            t = table[i][u]
            acc = _ld_add_affine(acc, t.x, t.y, t.tx, t.ty, t.txy)
        elif u < 0:
            t = table[i][-u]
            acc = _ld_add_affine(acc, t.x, t.x ^ t.y, t.tx, t.txy, t.ty)
    return _ld_to_affine_batch([acc])[0]


def public_key(private_key: int) -> Point:
    """d * G. A 36-byte scalar may exceed n (the SE suite-2 responder's ephemeral key in vectors.md §4.3
    does); it acts as d mod n, which must not be 0."""
    if private_key <= 0 or private_key >> (8 * SCALAR_BYTES) or private_key % N == 0:
        raise ValueError("private key out of range: must be a 36-byte integer not divisible by n")
    fast = _active()
    if fast is None:
        q = _multiply_generator(private_key)
    else:
        xy = fast.multiply_sum([(private_key % N, None)])
        q = None if xy is None else Point(*xy)
    assert q is not None
    return q


# --- backend choice: libcrypto (harness/zigbee/cbke/libcrypto.py) where the machine has it, else pure Python ---

BACKEND_ENV: Final = "SMETS2_CURVE_BACKEND"
BACKENDS: Final = ("auto", "libcrypto", "python")
_chosen: list[Libcrypto | None] = []  # empty until first use


class BackendError(RuntimeError):
    """The curve backend asked for (SMETS2_CURVE_BACKEND) cannot be used on this machine."""


def set_backend(name: str = "auto") -> str:
    """Choose the backend: "libcrypto" (an error if unusable), "python", or "auto" (libcrypto if it loads and
    agrees with the pure code on a known multiplication). Returns the one in use."""
    if name not in BACKENDS:
        raise BackendError(f"{BACKEND_ENV}={name!r}: expected one of {', '.join(BACKENDS)}")
    fast = None
    if name != "python":
        fast = libcrypto.load()
        if fast is not None and not _agrees(fast):
            fast = None
        if fast is None and name == "libcrypto":
            raise BackendError(f"{BACKEND_ENV}=libcrypto: no libcrypto with a working sect283k1 on this machine")
    _chosen[:] = [fast]
    return backend_name()


def backend_name() -> str:
    """"libcrypto (<library>)" or "python"."""
    fast = _active()
    return "python" if fast is None else f"libcrypto ({fast.path})"


def _active() -> Libcrypto | None:
    if not _chosen:
        set_backend(os.environ.get(BACKEND_ENV, "auto").strip() or "auto")
    return _chosen[0]


def _agrees(fast: Libcrypto) -> bool:
    # A known answer from the pure code (itself checked against the SE vectors and the OpenSSL CLI), so a
    # libcrypto that misbehaves is never used: 5 ms once per process.
    k = 0x0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF01234567 % N
    try:
        return fast.multiply_sum([(k, None)]) == tuple(_multiply_generator(k) or ())
    except libcrypto.LibcryptoError:
        return False
