"""The ZigBee auxiliary security header and CCM* frame protection, shared by NWK and APS.

ZigBee spec 4.5.1 (aux header) and 4.3.1 / 4.4.1 (outgoing/incoming frame security); summarised with worked
values in research/vectors.md section 3.1:

    security control (1) | frame counter (4, LE) | [source EUI-64 (8, LE) if extended nonce] |
    [key sequence number (1) if key id = network key]

Security control: bits 0-2 security level, 3-4 key identifier, 5 extended nonce. On air the level bits are
transmitted as 0; the nonce and the authenticated data use the real level (5 = ENC-MIC-32 in ZigBee PRO).
Authenticated data = the layer's header from its first byte through the aux header, with the level restored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from zigpy.types import EUI64

from harness.errors import DecodeError, SecurityError
from harness.zigbee.security import MIC_LENGTHS, ccm_star_decrypt, ccm_star_encrypt, zigbee_nonce
from harness.zigbee.wire import ByteReader, as_key, eui64_bytes, uint

__all__ = ["KeyId", "SecurityHeader", "SecuredPayload", "DEFAULT_LEVEL", "protect", "unprotect"]

DEFAULT_LEVEL = 5  # ENC-MIC-32, the only level ZigBee PRO uses


class KeyId(IntEnum):
    DATA = 0  # link key (APS "data key")
    NETWORK = 1
    KEY_TRANSPORT = 2
    KEY_LOAD = 3


@dataclass(frozen=True)
class SecurityHeader:
    """Auxiliary security header. `source` set means the extended nonce bit is set and the EUI-64 is sent.

    `level` is the real security level (nonce and MIC); on air the level bits are written as 0.
    """

    key_id: KeyId
    frame_counter: int
    source: EUI64 | None = None
    key_seq: int | None = None
    level: int = DEFAULT_LEVEL

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id", KeyId(self.key_id))
        if (self.key_id is KeyId.NETWORK) != (self.key_seq is not None):
            raise ValueError("key_seq is sent exactly when key_id is NETWORK")
        if not 1 <= self.level <= 7:
            raise ValueError(f"security level {self.level} is not 1..7")

    @property
    def mic_length(self) -> int:
        return MIC_LENGTHS[self.level]

    def control(self, *, level: int) -> int:
        return level | int(self.key_id) << 3 | int(self.source is not None) << 5

    def to_bytes(self, *, level: int = 0) -> bytes:
        """On-air bytes (level 0); pass level=self.level for the authenticated-data form."""
        out = bytes([self.control(level=level)]) + uint(self.frame_counter, 4, "frame_counter")
        if self.source is not None:
            out += eui64_bytes(self.source, "source")
        if self.key_seq is not None:
            out += uint(self.key_seq, 1, "key_seq")
        return out

    @classmethod
    def decode(cls, reader: ByteReader, *, default_level: int = DEFAULT_LEVEL) -> "SecurityHeader":
        control = reader.u8("security control")
        counter = reader.u32("frame counter")
        source = reader.eui64("extended source") if control >> 5 & 1 else None
        key_id = KeyId(control >> 3 & 0x3)
        key_seq = reader.u8("key sequence number") if key_id is KeyId.NETWORK else None
        # A conforming sender zeroes the level; a non-zero one is taken as the level it claims.
        level = control & 0x7 or default_level
        return cls(key_id, counter, source, key_seq, level)


@dataclass(frozen=True)
class SecuredPayload:
    """A payload that has not been decrypted: `body` (ciphertext, or clear text for levels 1-3) and `mic`."""

    body: bytes
    mic: bytes

    def to_bytes(self) -> bytes:
        return bytes(self.body) + bytes(self.mic)

    @classmethod
    def split(cls, data: bytes, mic_length: int, frame: str, offset: int) -> "SecuredPayload":
        if len(data) < mic_length:
            raise DecodeError(f"{frame}: {len(data)} secured payload bytes at offset {offset}, "
                              f"need at least {mic_length} for the MIC")
        return cls(data[: len(data) - mic_length], data[len(data) - mic_length :])


def _nonce_source(header: SecurityHeader, sender: EUI64 | None, frame: str) -> EUI64:
    source = header.source if header.source is not None else sender
    if source is None:
        raise SecurityError(f"{frame}: no extended nonce and no sender EUI-64 given for the CCM* nonce")
    return source


def _aad(header_before_aux: bytes, header: SecurityHeader) -> bytes:
    return bytes(header_before_aux) + header.to_bytes(level=header.level)


def protect(header_before_aux: bytes, header: SecurityHeader, key: bytes, plaintext: bytes,
            *, sender: EUI64 | None = None, frame: str = "frame") -> SecuredPayload:
    """Encrypt/authenticate `plaintext` after the given header bytes; returns body and MIC for the air."""
    source = _nonce_source(header, sender, frame)
    key = as_key(key, f"{frame} key")
    nonce = zigbee_nonce(source, header.frame_counter, header.control(level=header.level))
    aad = _aad(header_before_aux, header)
    mic_length = header.mic_length
    if header.level & 0x4:  # levels 4-7 encrypt
        sealed = ccm_star_encrypt(key, nonce, aad, plaintext, mic_length)
        return SecuredPayload.split(sealed, mic_length, frame, 0)
    mic = ccm_star_encrypt(key, nonce, aad + bytes(plaintext), b"", mic_length)
    return SecuredPayload(bytes(plaintext), mic)


def unprotect(header_before_aux: bytes, header: SecurityHeader, key: bytes, secured: SecuredPayload,
              *, sender: EUI64 | None = None, frame: str = "frame") -> bytes:
    """Verify the MIC and decrypt; raises SecurityError if the MIC does not verify."""
    source = _nonce_source(header, sender, frame)
    key = as_key(key, f"{frame} key")
    nonce = zigbee_nonce(source, header.frame_counter, header.control(level=header.level))
    aad = _aad(header_before_aux, header)
    try:
        if header.level & 0x4:
            return ccm_star_decrypt(key, nonce, aad, secured.to_bytes(), header.mic_length)
        ccm_star_decrypt(key, nonce, aad + bytes(secured.body), bytes(secured.mic), header.mic_length)
        return bytes(secured.body)
    except SecurityError as exc:
        raise SecurityError(f"{frame} (frame counter {header.frame_counter}, key id {header.key_id.name}): {exc}") from None
