"""ZigBee SE crypto suite 2 implicit certificates (ECQV, SEC 4) on sect283k1: 74 bytes.

Layout (SE 1.2 Annex C; the same fields Wireshark's packet-zbee-zcl-se.c dissects):
type(1) = 00 | serial(8) | curve(1) = 0D | hash(1) = 08 | issuer(8) | validFrom(5) | validTo(4) |
subject EUI-64(8, big-endian as printed) | keyUsage(1) | public-key reconstruction point(37, SEC1 compressed).
validFrom is a Unix time in seconds; validTo is the lifetime in seconds after validFrom, 0xFFFFFFFF for none
(as Wireshark reads it). keyUsage bit 0x08 is key agreement, 0x80 digital signature.
ECQV public-key extraction: Q_U = e * P_U + Q_CA with e = int(AES-MMO(certificate)) (vectors.md §4.1).
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from typing import Final

from harness.zigbee.cbke import curve
from harness.zigbee.cbke.curve import InvalidPoint, Point
from harness.zigbee.security import aes_mmo_hash

CERTIFICATE_BYTES: Final = 74
TYPE_NO_EXTENSIONS: Final = 0x00
CURVE_SECT283K1: Final = 0x0D
HASH_AES_MMO: Final = 0x08
KEY_USAGE_KEY_AGREEMENT: Final = 0x08
KEY_USAGE_DIGITAL_SIGNATURE: Final = 0x80
NO_EXPIRY: Final = 0xFFFFFFFF


class CertificateError(ValueError):
    """A certificate that does not parse or does not validate; `field` names the offending field."""

    def __init__(self, message: str, *, field: str) -> None:
        self.field = field
        super().__init__(f"certificate {field}: {message}")


@dataclass(frozen=True)
class Certificate:
    raw: bytes
    cert_type: int
    serial: bytes
    curve_id: int
    hash_id: int
    issuer: bytes
    valid_from: int
    valid_to: int
    subject: bytes
    key_usage: int
    reconstruction: bytes

    @property
    def expires(self) -> int | None:
        """Unix time after which the certificate is no longer valid, or None."""
        return None if self.valid_to == NO_EXPIRY else self.valid_from + self.valid_to

    def valid_at(self, unix_time: float) -> bool:
        end = self.expires
        return self.valid_from <= unix_time and (end is None or unix_time <= end)

    @property
    def issuer_hex(self) -> str:
        return self.issuer.hex().upper()

    @property
    def subject_hex(self) -> str:
        return self.subject.hex().upper()

    def __bytes__(self) -> bytes:
        return self.raw


def parse_certificate(data: bytes) -> Certificate:
    """Parse and check the fixed fields; the reconstruction point is checked by `public_key_from`."""
    data = bytes(data)
    if len(data) != CERTIFICATE_BYTES:
        raise CertificateError(f"expected {CERTIFICATE_BYTES} bytes, got {len(data)}", field="length")
    cert = Certificate(
        raw=data,
        cert_type=data[0],
        serial=data[1:9],
        curve_id=data[9],
        hash_id=data[10],
        issuer=data[11:19],
        valid_from=int.from_bytes(data[19:24], "big"),
        valid_to=int.from_bytes(data[24:28], "big"),
        subject=data[28:36],
        key_usage=data[36],
        reconstruction=data[37:74],
    )
    if cert.cert_type != TYPE_NO_EXTENSIONS:
        raise CertificateError(f"unsupported type 0x{cert.cert_type:02X}", field="type")
    if cert.curve_id != CURVE_SECT283K1:
        raise CertificateError(f"curve 0x{cert.curve_id:02X} is not sect283k1 (0x0D)", field="curve")
    if cert.hash_id != HASH_AES_MMO:
        raise CertificateError(f"hash 0x{cert.hash_id:02X} is not AES-MMO (0x08)", field="hash")
    return cert


def certificate_hash(cert: Certificate | bytes) -> int:
    """e = AES-MMO of the whole certificate, read as a big-endian integer (SEC 4 Hn with n = 128 bits)."""
    return int.from_bytes(aes_mmo_hash(bytes(cert)), "big")


def public_key_from(cert: Certificate, ca_public_key: Point) -> Point:
    """ECQV public-key extraction: Q = e * P + Q_CA, with P validated (on curve, order n)."""
    try:
        reconstruction = curve.decode_point(cert.reconstruction)
    except InvalidPoint as exc:
        raise CertificateError(str(exc), field="public key reconstruction") from exc
    q = curve.add(curve.multiply(certificate_hash(cert), reconstruction), ca_public_key)
    if q is None:
        raise CertificateError("reconstructs the point at infinity", field="public key reconstruction")
    return q


def build_certificate(
    *,
    serial: bytes,
    issuer: bytes,
    subject: bytes,
    reconstruction: bytes,
    valid_from: int,
    valid_to: int = NO_EXPIRY,
    key_usage: int = KEY_USAGE_KEY_AGREEMENT | KEY_USAGE_DIGITAL_SIGNATURE,
) -> bytes:
    for name, value, size in (("serial", serial, 8), ("issuer", issuer, 8), ("subject", subject, 8)):
        if len(value) != size:
            raise CertificateError(f"expected {size} bytes, got {len(value)}", field=name)
    return (
        bytes([TYPE_NO_EXTENSIONS])
        + serial
        + bytes([CURVE_SECT283K1, HASH_AES_MMO])
        + issuer
        + valid_from.to_bytes(5, "big")
        + valid_to.to_bytes(4, "big")
        + subject
        + bytes([key_usage])
        + reconstruction
    )


@dataclass(frozen=True)
class DeviceCredentials:
    """What a device holds for CBKE: its certificate, its static private key and the CA's public key."""

    certificate: bytes
    private_key: int
    ca_public_key: bytes

    def __repr__(self) -> str:  # the private key is a secret
        cert = parse_certificate(self.certificate)
        return f"DeviceCredentials(subject={cert.subject_hex}, issuer={cert.issuer_hex}, private_key=<redacted>)"

    @property
    def private_key_bytes(self) -> bytes:
        return self.private_key.to_bytes(curve.SCALAR_BYTES, "big")

    @property
    def public_key(self) -> bytes:
        return curve.encode_point(curve.public_key(self.private_key))


@dataclass(frozen=True)
class CertificateAuthority:
    """A certificate authority for test rigs: issues suite-2 certificates with ECQV (SEC 4 §3)."""

    issuer: bytes
    private_key: int

    def __repr__(self) -> str:
        return f"CertificateAuthority(issuer={self.issuer.hex().upper()}, private_key=<redacted>)"

    @classmethod
    def generate(cls, issuer: bytes | None = None) -> "CertificateAuthority":
        return cls(issuer or secrets.token_bytes(8), secrets.randbelow(curve.N - 1) + 1)

    @functools.cached_property
    def public_key(self) -> bytes:
        # A scalar multiplication; asked for on every certificate issued, so worked out once.
        return curve.encode_point(curve.public_key(self.private_key))

    def issue(
        self,
        subject: bytes,
        *,
        valid_from: int,
        valid_to: int = NO_EXPIRY,
        serial: bytes | None = None,
        key_usage: int = KEY_USAGE_KEY_AGREEMENT | KEY_USAGE_DIGITAL_SIGNATURE,
    ) -> DeviceCredentials:
        """Run both halves of ECQV: the requester's k_U, R_U = k_U G and the CA's k, P_U = R_U + k G,
        r = e k + d_CA; the device's private key is d_U = e k_U + r (mod n), so Q_U = d_U G = e P_U + Q_CA."""
        while True:
            k_u = secrets.randbelow(curve.N - 1) + 1
            k = secrets.randbelow(curve.N - 1) + 1
            if (k_u + k) % curve.N == 0:
                continue  # P_U would be the point at infinity
            # R_U + k G = (k_U + k) G: both halves run here, so one scalar multiplication gives the same P_U.
            p_u = curve.public_key((k_u + k) % curve.N)
            raw = build_certificate(
                serial=serial or secrets.token_bytes(8),
                issuer=self.issuer,
                subject=subject,
                reconstruction=curve.encode_point(p_u),
                valid_from=valid_from,
                valid_to=valid_to,
                key_usage=key_usage,
            )
            e = certificate_hash(raw)
            d_u = (e * k_u + e * k + self.private_key) % curve.N
            if d_u:
                return DeviceCredentials(raw, d_u, self.public_key)
