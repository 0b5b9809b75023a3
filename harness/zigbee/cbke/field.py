"""GF(2^283) in a polynomial basis, f(x) = x^283 + x^12 + x^7 + x^5 + 1 (SEC 2 sect283k1).

An element is a Python int whose bit i is the coefficient of x^i. CPython has no carry-less multiply, so
multiplication is a 4-bit-window comb over the second operand (about 70 shift/xor steps); squaring, which is
linear over GF(2), is a byte-wise table lookup; solving z^2 + z = c, also linear, is a table built once by
Gaussian elimination. The trace of this field is c_0 + c_271 (computed from the definition and checked by
tests/zigbee/test_cbke_field.py).
"""

from __future__ import annotations

from typing import Final

M: Final = 283
POLY: Final = (1 << 283) | (1 << 12) | (1 << 7) | (1 << 5) | 1
MASK: Final = (1 << M) - 1
BYTES: Final = 36  # ceil(283 / 8): the SEC1 octet length of a field element
_TRACE_MASK: Final = (1 << 271) | 1


def reduce(c: int) -> int:
    """c mod f for c of degree < 2*283 - 1: fold the part above x^282 back with x^283 = x^12 + x^7 + x^5 + 1."""
    while c >> M:
        hi = c >> M
        c = (c & MASK) ^ hi ^ (hi << 5) ^ (hi << 7) ^ (hi << 12)
    return c


def mul_table(a: int) -> tuple[int, ...]:
    """The 16 multiples a*u (u a polynomial of degree < 4): reused when a is a factor of many products."""
    a2 = a << 1
    a3 = a2 ^ a
    a4 = a << 2
    a5 = a4 ^ a
    a6 = a4 ^ a2
    a7 = a6 ^ a
    a8 = a << 3
    return (0, a, a2, a3, a4, a5, a6, a7, a8, a8 ^ a, a8 ^ a2, a8 ^ a3, a8 ^ a4, a8 ^ a5, a8 ^ a6, a8 ^ a7)


_NIBBLES: Final = bytes.maketrans(b"0123456789abcdef", bytes(range(16)))


def mul_by_table(table: tuple[int, ...], b: int) -> int:
    """a*b mod f, with table = mul_table(a) (16 entries) or any 256-entry table of the multiples a*u, deg u < 8."""
    c = 0
    if len(table) == 16:
        # one nibble of b per step, most significant first; hex() + translate is the cheapest nibble split
        for nibble in b.to_bytes(BYTES, "big").hex().encode().translate(_NIBBLES):
            c = (c << 4) ^ table[nibble]
    else:
        for byte in b.to_bytes(BYTES, "big"):
            c = (c << 8) ^ table[byte]
    hi = c >> M
    c = (c & MASK) ^ hi ^ (hi << 5) ^ (hi << 7) ^ (hi << 12)
    hi = c >> M
    return (c & MASK) ^ hi ^ (hi << 5) ^ (hi << 7) ^ (hi << 12)


def mul(a: int, b: int) -> int:
    """a*b mod f."""
    return mul_by_table(mul_table(a), b)


# Squaring spreads bit i to bit 2i: one 16-bit pattern per input byte.
_SPREAD: Final = tuple(
    sum(((byte >> bit) & 1) << (2 * bit) for bit in range(8)).to_bytes(2, "big") for byte in range(256)
)


def sqr(a: int) -> int:
    """a^2 mod f."""
    spread = _SPREAD
    return reduce(int.from_bytes(b"".join([spread[byte] for byte in a.to_bytes(BYTES, "big")]), "big"))


def inv(a: int) -> int:
    """a^-1 mod f by the binary extended Euclidean algorithm (Guide to ECC, Alg. 2.48)."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^283)")
    u, v, g1, g2 = a, POLY, 1, 0
    while u != 1:
        j = u.bit_length() - v.bit_length()
        if j < 0:
            u, v, g1, g2 = v, u, g2, g1
            j = -j
        u ^= v << j
        g1 ^= g2 << j
    return reduce(g1)


def trace(a: int) -> int:
    """Tr(a) = a + a^2 + ... + a^(2^282), which is 0 or 1; here the parity of bits 0 and 271."""
    return ((a & _TRACE_MASK).bit_count()) & 1


def _build_quadratic_solver() -> tuple[tuple[int, ...], ...]:
    """Byte tables for a linear map Q with Q(c)^2 + Q(c) = c whenever Tr(c) = 0.

    z -> z^2 + z is linear with kernel {0, 1} and image the trace-0 hyperplane. Gaussian elimination on the
    images of x^1..x^282 (x^0 maps to 0) gives, for each pivot bit, a preimage; a trace-0 target is then the xor
    of pivot rows. For a basis target x^i we solve for x^i + Tr(x^i), which has trace 0 since Tr(1) = 1 (m odd),
    so Q(c) = xor of Q(x^i) over the bits of c is right for every trace-0 c.
    """
    rows: dict[int, tuple[int, int]] = {}  # pivot bit -> (image, preimage)
    for j in range(1, M):
        image, pre = reduce(1 << (2 * j)) ^ (1 << j), 1 << j
        while image:
            top = image.bit_length() - 1
            if top not in rows:
                rows[top] = (image, pre)
                break
            pivot_image, pivot_pre = rows[top]
            image ^= pivot_image
            pre ^= pivot_pre
    basis_solution = []
    for i in range(M):
        target = (1 << i) ^ trace(1 << i)
        solution = 0
        while target:
            image, pre = rows[target.bit_length() - 1]
            target ^= image
            solution ^= pre
        basis_solution.append(solution)
    tables = []
    for byte_index in range(BYTES):  # byte 0 is the most significant, as in to_bytes(..., "big")
        low_bit = 8 * (BYTES - 1 - byte_index)
        column = [basis_solution[low_bit + k] if low_bit + k < M else 0 for k in range(8)]
        table = [0] * 256
        for value in range(1, 256):
            lowest = value & -value
            table[value] = table[value ^ lowest] ^ column[lowest.bit_length() - 1]
        tables.append(tuple(table))
    return tuple(tables)


_QUADRATIC: tuple[tuple[int, ...], ...] | None = None


def solve_quadratic(c: int) -> int | None:
    """A root z of z^2 + z = c, or None when there is none (Tr(c) = 1). The other root is z + 1."""
    global _QUADRATIC
    if trace(c):
        return None
    if _QUADRATIC is None:
        _QUADRATIC = _build_quadratic_solver()
    z = 0
    for table, byte in zip(_QUADRATIC, c.to_bytes(BYTES, "big")):
        z ^= table[byte]
    return z


def to_bytes(a: int) -> bytes:
    """SEC1 field-element-to-octet-string: 36 bytes, big-endian."""
    return a.to_bytes(BYTES, "big")


def from_bytes(data: bytes) -> int:
    """SEC1 octet-string-to-field-element; raises ValueError for a value of degree 283 or more."""
    value = int.from_bytes(data, "big")
    if len(data) != BYTES or value >> M:
        raise ValueError(f"not a GF(2^283) element: {len(data)} bytes, value {data.hex()}")
    return value
