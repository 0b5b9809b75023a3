"""ZigBee security primitives: AES-MMO hash, HMAC-MMO, key hashing, CCM* nonce and CCM* itself.

Sources (facts only; the code is ours):
* AES-MMO (Matyas-Meyer-Oseas with AES-128) and its padding: ZigBee spec annex B.6; test vectors annex C.5.
* HMAC-MMO: FIPS-198 HMAC with block size 16 and AES-MMO as hash; ZigBee spec B.1.4, vectors C.6.
* Key-transport / key-load keys: ZigBee spec 4.5.3 (HMAC of the link key over 0x00 / 0x02).
* CCM* nonce and security levels: ZigBee spec 4.5.1 and research/vectors.md 3.1.
* CCM* itself: ZigBee spec annex A (= CCM with L = 2, plus the M = 0 "encryption only" case).
See also /work/shared/research/vectors.md sections 1-3 and docs/crypto.md.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM
from zigpy.types import EUI64

from harness.errors import SecurityError

__all__ = [
    "MIC_LENGTHS",
    "KEY_LENGTH",
    "NONCE_LENGTH",
    "aes_mmo_hash",
    "hmac_mmo",
    "key_transport_key",
    "key_load_key",
    "zigbee_nonce",
    "ccm_star_encrypt",
    "ccm_star_decrypt",
]

# Security level -> MIC length in bytes (ZigBee spec 4.5.1, table "Security levels available").
# Levels 1-3 authenticate only, 4 encrypts only, 5-7 do both.
MIC_LENGTHS: Final[dict[int, int]] = {0: 0, 1: 4, 2: 8, 3: 16, 4: 0, 5: 4, 6: 8, 7: 16}

KEY_LENGTH: Final = 16
NONCE_LENGTH: Final = 13
_BLOCK: Final = 16
_VALID_MIC_LENGTHS: Final = frozenset({0, 4, 8, 16})
# CCM* in ZigBee uses L = 2 length bytes, so a message is at most 2**16 - 1 bytes.
_MAX_CCM_MESSAGE: Final = 0xFFFF
# B.6 defines the padding for messages shorter than 2**32 bits only.
_MAX_MMO_BITS: Final = 2**32


def _require_key(key: bytes, what: str = "key") -> bytes:
    key = bytes(key)
    if len(key) != KEY_LENGTH:
        raise ValueError(f"{what} must be {KEY_LENGTH} bytes (AES-128), got {len(key)}")
    return key


def _aes_block(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def _mmo_pad(data: bytes) -> bytes:
    """Pad as ZigBee B.6: M || 1 || 0* || length, to a whole number of 16-byte blocks.

    Below 2**16 bits the length is a 16-bit big-endian bit count closing the last block. From 2**16 bits on it
    is a 32-bit big-endian bit count followed by 16 zero bits (so the zero fill stops at 10 mod 16, not 14).
    """
    bits = len(data) * 8
    if bits >= _MAX_MMO_BITS:
        raise ValueError(f"AES-MMO input of {len(data)} bytes is too long (ZigBee B.6 covers < 2**32 bits)")
    padded = bytearray(data)
    padded.append(0x80)
    if bits < 2**16:
        while len(padded) % _BLOCK != _BLOCK - 2:
            padded.append(0)
        padded += bits.to_bytes(2, "big")
    else:
        while len(padded) % _BLOCK != _BLOCK - 6:
            padded.append(0)
        padded += bits.to_bytes(4, "big") + b"\x00\x00"
    return bytes(padded)


def aes_mmo_hash(data: bytes) -> bytes:
    """AES-MMO hash (ZigBee B.6): H0 = 0, Hj = E(Hj-1, Mj) XOR Mj; returns the 16-byte digest."""
    padded = _mmo_pad(bytes(data))
    digest = bytes(_BLOCK)
    for start in range(0, len(padded), _BLOCK):
        block = padded[start : start + _BLOCK]
        encrypted = _aes_block(digest, block)
        digest = bytes(a ^ b for a, b in zip(encrypted, block))
    return digest


def hmac_mmo(key: bytes, message: bytes) -> bytes:
    """HMAC (FIPS-198) with block size 16 and AES-MMO as the hash (ZigBee B.1.4); returns 16 bytes."""
    key = bytes(key)
    if len(key) > _BLOCK:  # FIPS-198: a key longer than the block is hashed first
        key = aes_mmo_hash(key)
    key = key.ljust(_BLOCK, b"\x00")
    inner = aes_mmo_hash(bytes(k ^ 0x36 for k in key) + bytes(message))
    return aes_mmo_hash(bytes(k ^ 0x5C for k in key) + inner)


def key_transport_key(link_key: bytes) -> bytes:
    """Key-transport key (APS aux key id 2) = HMAC-MMO(link key, 0x00) (ZigBee 4.5.3)."""
    return hmac_mmo(_require_key(link_key, "link key"), b"\x00")


def key_load_key(link_key: bytes) -> bytes:
    """Key-load key (APS aux key id 3) = HMAC-MMO(link key, 0x02) (ZigBee 4.5.3)."""
    return hmac_mmo(_require_key(link_key, "link key"), b"\x02")


def zigbee_nonce(source: EUI64 | bytes, frame_counter: int, security_control: int) -> bytes:
    """The 13-byte CCM* nonce: source EUI-64 (over-the-air, little-endian) || frame counter (LE) || sec. control.

    `source` is a zigpy EUI64 (serialised little-endian) or 8 raw bytes already in over-the-air order.
    `security_control` must carry the REAL security level: on air ZigBee zeroes the level bits, and using that
    byte here gives a nonce no peer will accept.
    """
    if isinstance(source, EUI64):
        source_bytes = bytes(source)  # its octets in over-the-air order, as serialize() joins them (40x faster)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        source_bytes = bytes(source)
    else:
        raise TypeError(f"nonce source must be a zigpy EUI64 or 8 bytes, got {type(source).__name__}")
    if len(source_bytes) != 8:
        raise ValueError(f"nonce source EUI-64 must be 8 bytes, got {len(source_bytes)}")
    if not 0 <= frame_counter <= 0xFFFFFFFF:
        raise ValueError(f"frame counter {frame_counter} out of range 0..0xFFFFFFFF")
    if not 0 <= security_control <= 0xFF:
        raise ValueError(f"security control {security_control} out of range 0..0xFF")
    if security_control & 0x07 == 0:
        raise ValueError(
            f"security control 0x{security_control:02X} has security level 0: the nonce needs the real level "
            "(on-air frames carry 0 there; restore it, e.g. 5 for ENC-MIC-32)"
        )
    return source_bytes + frame_counter.to_bytes(4, "little") + bytes([security_control])


def _check_ccm_args(key: bytes, nonce: bytes, mic_len: int) -> tuple[bytes, bytes]:
    key = _require_key(key)
    nonce = bytes(nonce)
    if len(nonce) != NONCE_LENGTH:
        raise ValueError(f"CCM* nonce must be {NONCE_LENGTH} bytes, got {len(nonce)}")
    if mic_len not in _VALID_MIC_LENGTHS:
        raise ValueError(f"MIC length {mic_len} not one of 0, 4, 8, 16 bytes")
    return key, nonce


def _ctr_keystream_xor(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """CCM* encryption-only (M = 0): XOR with blocks A_i = flags(L-1 = 1) || nonce || i (2 bytes), i from 1."""
    first_counter = bytes([0x01]) + nonce + (1).to_bytes(2, "big")
    encryptor = Cipher(algorithms.AES(key), modes.CTR(first_counter)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def ccm_star_encrypt(key: bytes, nonce: bytes, auth_data: bytes, plaintext: bytes, mic_len: int) -> bytes:
    """CCM* encrypt-and-authenticate; returns ciphertext || MIC (mic_len bytes, 0 = encryption only).

    For the authentication-only levels (1-3) pass the payload inside `auth_data` and an empty plaintext.
    """
    key, nonce = _check_ccm_args(key, nonce, mic_len)
    plaintext = bytes(plaintext)
    if len(plaintext) > _MAX_CCM_MESSAGE:
        raise ValueError(f"CCM* plaintext of {len(plaintext)} bytes exceeds {_MAX_CCM_MESSAGE} (L = 2)")
    if mic_len == 0:
        return _ctr_keystream_xor(key, nonce, plaintext)
    # With M > 0, CCM* is exactly CCM (RFC 3610 / SP 800-38C) with L = 15 - 13 = 2.
    return AESCCM(key, tag_length=mic_len).encrypt(nonce, plaintext, bytes(auth_data))


def ccm_star_decrypt(key: bytes, nonce: bytes, auth_data: bytes, ciphertext_and_mic: bytes, mic_len: int) -> bytes:
    """CCM* decrypt and verify; raises SecurityError when the MIC does not verify. Returns the plaintext."""
    key, nonce = _check_ccm_args(key, nonce, mic_len)
    data = bytes(ciphertext_and_mic)
    if len(data) < mic_len:
        raise SecurityError(f"MIC check failed: {len(data)} bytes is shorter than the {mic_len}-byte MIC")
    if len(data) - mic_len > _MAX_CCM_MESSAGE:
        raise ValueError(f"CCM* ciphertext of {len(data) - mic_len} bytes exceeds {_MAX_CCM_MESSAGE} (L = 2)")
    if mic_len == 0:
        return _ctr_keystream_xor(key, nonce, data)
    try:
        return AESCCM(key, tag_length=mic_len).decrypt(nonce, data, bytes(auth_data))
    except InvalidTag:
        raise SecurityError(
            f"MIC check failed ({mic_len}-byte MIC over {len(data) - mic_len} bytes of ciphertext): "
            "wrong key, nonce, header or a corrupted frame"
        ) from None
