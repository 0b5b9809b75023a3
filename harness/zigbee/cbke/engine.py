"""One party's CBKE crypto, shaped like the EZSP suite-2 commands a stick offers (UG100 / ezsp.md §5):
generate ephemeral keys, calculate the SMACs from the partner's certificate and ephemeral key, then clear the
temporary data and maybe keep the link key. The static private key stays inside this object.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable

from harness.zigbee.cbke import agreement, curve
from harness.zigbee.cbke.certificate import Certificate, CertificateError, DeviceCredentials, parse_certificate
from harness.zigbee.cbke.curve import InvalidPoint


class CbkeCryptoError(ValueError):
    """The partner's certificate or ephemeral key is not usable (bad encoding, invalid point)."""


@dataclass(frozen=True)
class Smacs:
    initiator_mac: bytes  # MACU
    responder_mac: bytes  # MACV


class CbkeEngine:
    def __init__(self, credentials: DeviceCredentials, *, randbelow: Callable[[int], int] = secrets.randbelow):
        self._credentials = credentials
        self._randbelow = randbelow
        self.certificate: bytes = credentials.certificate
        self._ca = curve.decode_point(credentials.ca_public_key)
        self._ephemeral: tuple[int, curve.Point, bytes] | None = None
        self._pending_key: bytes | None = None
        self._partner: bytes | None = None

    def __repr__(self) -> str:
        return f"CbkeEngine({self._credentials!r})"

    @property
    def local_certificate(self) -> Certificate:
        return parse_certificate(self.certificate)

    def generate_ephemeral(self) -> bytes:
        """A fresh ephemeral key pair; returns the 37-byte public key."""
        d = self._randbelow(curve.N - 1) + 1
        q = curve.public_key(d)
        encoded = curve.encode_point(q)
        self._ephemeral = (d, q, encoded)
        self._pending_key = None
        return encoded

    def calculate_smacs(self, am_initiator: bool, partner_certificate: bytes, partner_ephemeral: bytes) -> Smacs:
        if self._ephemeral is None:
            raise CbkeCryptoError("calculate SMACs before generating ephemeral keys")
        try:
            cert = parse_certificate(partner_certificate)
            reconstruction = curve.decode_point(cert.reconstruction)
        except (CertificateError, InvalidPoint) as exc:
            raise CbkeCryptoError(f"partner certificate: {exc}") from exc
        try:
            partner_eph = curve.decode_point(partner_ephemeral)
        except InvalidPoint as exc:
            raise CbkeCryptoError(f"partner ephemeral key: {exc}") from exc
        d, q, encoded = self._ephemeral
        z = agreement.shared_secret_with_certificate(
            self._credentials.private_key, d, q, cert, reconstruction, self._ca, partner_eph
        )
        keys = agreement.derive_keys(z)
        own_id = self.local_certificate.subject
        if am_initiator:
            id_u, id_v, qeu, qev = own_id, cert.subject, encoded, bytes(partner_ephemeral)
        else:
            id_u, id_v, qeu, qev = cert.subject, own_id, bytes(partner_ephemeral), encoded
        self._pending_key = keys.key_data
        self._partner = cert.subject
        return Smacs(agreement.mac_u(keys.mac_key, id_u, id_v, qeu, qev), agreement.mac_v(keys.mac_key, id_u, id_v, qeu, qev))

    def clear_temporary_data(self, store_link_key: bool) -> tuple[bytes, bytes] | None:
        """Forget the ephemeral data; with store_link_key, return (partner EUI-64 big-endian, KeyData)."""
        key, partner = self._pending_key, self._partner
        self._ephemeral = self._pending_key = self._partner = None
        if store_link_key and key is not None and partner is not None:
            return partner, key
        return None
