"""sect283k1 scalar multiplication through the system's OpenSSL libcrypto (ctypes), the fast curve backend.

Why: `cryptography` does not expose binary curves, and CPython's pure arithmetic (curve.py) costs 4-10 ms per
multiplication, about 40 ms of CPU per premises in a fleet run. libcrypto's GF(2^m) code (EC_GF2m, a Montgomery
ladder for one scalar) does one in about 0.35 ms (`openssl speed ecdhk283` on the 2-core machine).

Only the multiplications and the field inversion (point compression and decompression) go through here; decoding,
validation (on the curve, order n) and encoding stay in curve.py, so both backends refuse exactly the same inputs.
Each term k_i P_i is its own EC_POINT_mul (the ladder, whose running time does not depend on the scalar); the sum is
affine addition in libcrypto. One EC_POINTs_mul for all the terms would be wNAF in affine coordinates, a field
division per step: three times slower than three ladders for the three-term ECMQV sum (measured, 4.4 vs 1.4 ms).

`load()` returns None where libcrypto is missing, lacks sect283k1 (built with no-ec2m), or lacks the OpenSSL 1.1.1
entry points; curve.py then keeps the pure backend. tests/zigbee/test_cbke_curve.py runs every curve test on both
backends and compares them on random scalars and points.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Sequence
from typing import Final

from harness.zigbee.cbke.field import POLY

NID_SECT283K1: Final = 729  # OpenSSL obj_mac.h; OID 1.3.132.0.16
_COORD_BYTES: Final = 36
_P = ctypes.c_void_p


class LibcryptoError(RuntimeError):
    """libcrypto refused an operation it should have done (a point that is not on the curve, out of memory)."""


def _bind(lib: ctypes.CDLL) -> None:
    sig = {
        "EC_GROUP_new_by_curve_name": (_P, [ctypes.c_int]),
        "EC_POINT_new": (_P, [_P]),
        "EC_POINT_free": (None, [_P]),
        "EC_POINT_set_affine_coordinates": (ctypes.c_int, [_P, _P, _P, _P, _P]),
        "EC_POINT_get_affine_coordinates": (ctypes.c_int, [_P, _P, _P, _P, _P]),
        "EC_POINT_mul": (ctypes.c_int, [_P, _P, _P, _P, _P, _P]),
        "EC_POINT_add": (ctypes.c_int, [_P, _P, _P, _P, _P]),
        "EC_POINT_is_at_infinity": (ctypes.c_int, [_P, _P]),
        "EC_POINT_set_to_infinity": (ctypes.c_int, [_P, _P]),
        "BN_CTX_new": (_P, []),
        "BN_CTX_free": (None, [_P]),
        "BN_new": (_P, []),
        "BN_clear_free": (None, [_P]),
        "BN_bin2bn": (_P, [ctypes.c_char_p, ctypes.c_int, _P]),
        "BN_bn2binpad": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int]),
        "BN_GF2m_mod_inv": (ctypes.c_int, [_P, _P, _P, _P]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)  # AttributeError: too old an OpenSSL
        fn.restype = restype
        fn.argtypes = argtypes


class Libcrypto:
    """One process's handle on libcrypto's sect283k1 group. Scalars arrive reduced mod n and non-zero."""

    def __init__(self, lib: ctypes.CDLL, group: int, path: str) -> None:
        self._lib = lib
        self._group = group
        self.path = path
        self._poly = self._bn(POLY)  # kept for the process's life, like the group
        self._ctx = lib.BN_CTX_new()  # for inverses only (multiply_sum has its own)
        if not (self._poly and self._ctx):
            raise LibcryptoError("out of memory")

    def inverse(self, a: int) -> int:
        """a^-1 in GF(2^283) (a non-zero, reduced): what point compression and decompression need, about 15 times
        faster than field.inv's binary Euclid in Python (70 us, 14 times a premises)."""
        lib = self._lib
        value, result = self._bn(a), lib.BN_new()
        try:
            if not result or not lib.BN_GF2m_mod_inv(result, value, self._poly, self._ctx):
                raise LibcryptoError(f"BN_GF2m_mod_inv failed for {a:x}")
            return self._int(result)
        finally:
            lib.BN_clear_free(value)
            lib.BN_clear_free(result)

    def _bn(self, value: int) -> int:
        bn = self._lib.BN_bin2bn(value.to_bytes(_COORD_BYTES, "big"), _COORD_BYTES, None)
        if not bn:
            raise LibcryptoError("BN_bin2bn failed (out of memory)")
        return bn

    def multiply_sum(self, terms: Sequence[tuple[int, tuple[int, int] | None]]) -> tuple[int, int] | None:
        """sum of k_i P_i (P_i None: the generator), as affine (x, y), or None for the point at infinity."""
        lib, group = self._lib, self._group
        ctx = lib.BN_CTX_new()
        acc = lib.EC_POINT_new(group)
        term = lib.EC_POINT_new(group)
        base = lib.EC_POINT_new(group)
        bns: list[int] = []
        try:
            if not (ctx and acc and term and base):
                raise LibcryptoError("out of memory")
            lib.EC_POINT_set_to_infinity(group, acc)
            for k, point in terms:
                scalar = self._bn(k)
                bns.append(scalar)
                if point is None:
                    ok = lib.EC_POINT_mul(group, term, scalar, None, None, ctx)
                else:
                    x, y = self._bn(point[0]), self._bn(point[1])
                    bns += (x, y)
                    if not lib.EC_POINT_set_affine_coordinates(group, base, x, y, ctx):
                        raise LibcryptoError(f"libcrypto refused the point x={point[0]:x} (not on sect283k1)")
                    ok = lib.EC_POINT_mul(group, term, None, base, scalar, ctx)
                if not ok or not lib.EC_POINT_add(group, acc, acc, term, ctx):
                    raise LibcryptoError("EC_POINT_mul/EC_POINT_add failed")
            if lib.EC_POINT_is_at_infinity(group, acc):
                return None
            x, y = lib.BN_new(), lib.BN_new()
            bns += (x, y)
            if not (x and y and lib.EC_POINT_get_affine_coordinates(group, acc, x, y, ctx)):
                raise LibcryptoError("EC_POINT_get_affine_coordinates failed")
            return self._int(x), self._int(y)
        finally:
            for bn in bns:
                lib.BN_clear_free(bn)  # scalars are private keys
            for p in (acc, term, base):
                lib.EC_POINT_free(p)
            lib.BN_CTX_free(ctx)

    def _int(self, bn: int) -> int:
        out = ctypes.create_string_buffer(_COORD_BYTES)
        if self._lib.BN_bn2binpad(bn, out, _COORD_BYTES) != _COORD_BYTES:
            raise LibcryptoError("BN_bn2binpad failed")
        return int.from_bytes(out.raw, "big")


def load(path: str | None = None) -> Libcrypto | None:
    """libcrypto with sect283k1, or None (with no exception) where this machine has none."""
    candidates = [path] if path else [os.environ.get("SMETS2_LIBCRYPTO") or "", ctypes.util.find_library("crypto")
                                      or "", "libcrypto.so.3", "libcrypto.so.1.1"]
    for name in filter(None, candidates):
        try:
            lib = ctypes.CDLL(name)
            _bind(lib)
        except (OSError, AttributeError):
            continue
        group = lib.EC_GROUP_new_by_curve_name(NID_SECT283K1)
        if group:
            return Libcrypto(lib, group, name)
    return None
