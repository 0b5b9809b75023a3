"""ECMQV with cofactor (SEC 1 v2 §3.4), the SE key-derivation function and the confirmation MACs.

From vectors.md §4.1 (confirmed by the SE Annex C suite-2 vectors):
avf(Q) = (x mod 2^141) + 2^141 (141 = ceil(bitlen(n) / 2));
s = d_eph + avf(Q_eph) d_static (mod n);  P = h s (Q'_eph + avf(Q'_eph) Q'_static);  Z = x(P), 36 bytes.
MacKey = AES-MMO(Z || 00000001), KeyData = AES-MMO(Z || 00000002) (the new APS link key).
MACU = HMAC-MMO(MacKey, 02 || ID_U || ID_V || QEU || QEV), MACV = HMAC-MMO(MacKey, 03 || ID_V || ID_U || QEV || QEU),
with U the initiator, V the responder, IDs the EUI-64s big-endian, QE the 37-byte points as sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from harness.zigbee.cbke import curve, field
from harness.zigbee.cbke.certificate import Certificate, certificate_hash
from harness.zigbee.cbke.curve import COFACTOR, N, Point
from harness.zigbee.security import aes_mmo_hash, hmac_mmo

_HALF: Final = (N.bit_length() + 1) // 2  # 141


class KeyAgreementError(ValueError):
    """The shared secret came out as the point at infinity."""


def associate_value(q: Point) -> int:
    return (q.x % (1 << _HALF)) + (1 << _HALF)


def shared_secret(
    static_private: int,
    ephemeral_private: int,
    ephemeral_public: Point,
    partner_static: Point,
    partner_ephemeral: Point,
) -> bytes:
    """Z, 36 bytes. Every point is of order n (checked by the callers), so h s reduces mod n."""
    s = (ephemeral_private + associate_value(ephemeral_public) * static_private) % N
    hs = (COFACTOR * s) % N
    p = curve.multiply_many([(hs, partner_ephemeral), (hs * associate_value(partner_ephemeral), partner_static)])
    if p is None:
        raise KeyAgreementError("ECMQV gave the point at infinity")
    return field.to_bytes(p.x)


def shared_secret_with_certificate(
    static_private: int,
    ephemeral_private: int,
    ephemeral_public: Point,
    partner_certificate: Certificate,
    partner_reconstruction: Point,
    ca_public_key: Point,
    partner_ephemeral: Point,
) -> bytes:
    """Z as `shared_secret`, folding ECQV into the same multiplication:
    Q'_static = e P' + Q_CA, so h s avf Q'_static = (h s avf e) P' + (h s avf) Q_CA: one Frobenius chain."""
    s = (ephemeral_private + associate_value(ephemeral_public) * static_private) % N
    hs = (COFACTOR * s) % N
    t = hs * associate_value(partner_ephemeral)
    e = certificate_hash(partner_certificate)
    p = curve.multiply_many(
        [(hs, partner_ephemeral), (t * e, partner_reconstruction), (t, ca_public_key)],
        fixed=(curve.G, ca_public_key),
    )
    if p is None:
        raise KeyAgreementError("ECMQV gave the point at infinity")
    return field.to_bytes(p.x)


@dataclass(frozen=True)
class DerivedKeys:
    mac_key: bytes
    key_data: bytes

    def __repr__(self) -> str:
        return "DerivedKeys(<redacted>)"


def derive_keys(z: bytes) -> DerivedKeys:
    return DerivedKeys(aes_mmo_hash(z + b"\x00\x00\x00\x01"), aes_mmo_hash(z + b"\x00\x00\x00\x02"))


def mac_u(mac_key: bytes, id_u: bytes, id_v: bytes, qeu: bytes, qev: bytes) -> bytes:
    return hmac_mmo(mac_key, b"\x02" + id_u + id_v + qeu + qev)


def mac_v(mac_key: bytes, id_u: bytes, id_v: bytes, qeu: bytes, qev: bytes) -> bytes:
    return hmac_mmo(mac_key, b"\x03" + id_v + id_u + qev + qeu)
