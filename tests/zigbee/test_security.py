"""ZigBee security primitives against the published vectors in /work/shared/research/vectors.md §2-§3."""

from __future__ import annotations

import pytest
from zigpy.types import EUI64

from harness.errors import SecurityError
from harness.zigbee.security import (
    MIC_LENGTHS,
    aes_mmo_hash,
    ccm_star_decrypt,
    ccm_star_encrypt,
    hmac_mmo,
    key_load_key,
    key_transport_key,
    zigbee_nonce,
)

h = bytes.fromhex


def counting_bytes(length: int) -> bytes:
    """The Annex C.5.3-style message: byte i is i mod 256."""
    return bytes(i % 256 for i in range(length))


# --- AES-MMO (vectors.md §2.1) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "digest"),
    [
        pytest.param(h("C0"), "AE3A102A28D43EE0D4A09E22788B206C", id="C.5.1 one byte"),
        pytest.param(h("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF"), "A7977E88BC0B61E8210827109A228F2D", id="C.5.2 16 bytes"),
        pytest.param(counting_bytes(8191), "24EC2FE75BBFFCB34789BC0610E7F165", id="C.5.3 8191 bytes"),
    ],
)
def test_aes_mmo_annex_c5_vectors(message: bytes, digest: str) -> None:
    assert aes_mmo_hash(message) == h(digest)


@pytest.mark.parametrize(
    ("length", "digest"),
    [
        # From 2**16 bits on, B.6 switches to a 32-bit length field; zigpy 2.4.0 gets these wrong.
        (8192, "DC6B0687F09F8607131C170B3BD31591"),
        (8201, "72C9B15E178AA843E4A16C58E33643A3"),
        (8202, "BC9828D59B2AA323DAF20BE5F2E66511"),
    ],
)
def test_aes_mmo_long_messages_use_32_bit_length(length: int, digest: str) -> None:
    assert aes_mmo_hash(counting_bytes(length)) == h(digest)


def test_aes_mmo_of_install_code_with_crc_is_spec_link_key() -> None:
    assert aes_mmo_hash(h("83FED3407A939723A5C639B26916D505C3B5")) == h("66B6900981E1EE3CA4206B6B861C02BB")


def test_aes_mmo_hmac_inner_hash_from_c6_1() -> None:
    # The intermediate hash of C.6.1: MMO(key XOR ipad || C0).
    assert aes_mmo_hash(h("76777475727370717E7F7C7D7A7B7879C0")) == h("3C3D537529A7A9A03F669DCD886CB52C")


@pytest.mark.parametrize("length", [0, 13, 14, 15, 16, 17, 29, 30, 31])
def test_aes_mmo_digest_is_16_bytes_and_differs_by_length(length: int) -> None:
    # Lengths 14/15 mod 16 push the padding into an extra block (the case WHAD gets wrong).
    digest = aes_mmo_hash(bytes(length))
    assert len(digest) == 16
    assert digest != aes_mmo_hash(bytes(length + 1))


# --- HMAC-MMO and key hashing (vectors.md §2.2, §2.3) ----------------------------------------------------------


def test_hmac_mmo_c6_1() -> None:
    assert hmac_mmo(h("404142434445464748494A4B4C4D4E4F"), h("C0")) == h("4512807BF94CB3400F0E2C25FB76E999")


def test_hmac_mmo_with_32_byte_key_hashes_the_key_first() -> None:
    key = bytes(range(0x40, 0x60))
    message = bytes(range(0xC0, 0xD0))
    assert hmac_mmo(key, message) == h("A3B0079984BF1557F74A0D6387E0A11A")


ZIGBEE_ALLIANCE_09 = b"ZigBeeAlliance09"


def test_key_transport_key_of_zigbee_alliance_09() -> None:
    assert ZIGBEE_ALLIANCE_09 == h("5A6967426565416C6C69616E63653039")
    assert key_transport_key(ZIGBEE_ALLIANCE_09) == h("4BAB0F173E1434A2D572E1C1EF478782")


def test_key_load_key_of_zigbee_alliance_09() -> None:
    assert key_load_key(ZIGBEE_ALLIANCE_09) == h("C5A47035C332CCBF251571D8BADED188")


def test_transport_and_load_keys_of_spec_install_code_key() -> None:
    link_key = h("66B6900981E1EE3CA4206B6B861C02BB")
    assert key_transport_key(link_key) == h("3C6CCA8977EB189EFD1614C3E7F75989")
    assert key_load_key(link_key) == h("1177A0EE2600D0020DBA82D7049F53BC")


def test_key_hash_rejects_short_link_key() -> None:
    with pytest.raises(ValueError, match="link key must be 16 bytes"):
        key_transport_key(b"short")


# --- Nonce (vectors.md §3.1) ------------------------------------------------------------------------------------


def test_nonce_from_zigpy_eui64_is_over_the_air_order() -> None:
    source = EUI64.convert("AA:BB:CC:DD:EE:FF:00:01")
    assert zigbee_nonce(source, 5, 0x2D) == h("0100FFEEDDCCBBAA") + h("05000000") + h("2D")


def test_nonce_from_raw_bytes_is_taken_as_given() -> None:
    assert zigbee_nonce(h("A0A1A2A3A4A5A6A7"), 0x00010203, 0x06) == h("A0A1A2A3A4A5A6A7" "03020100" "06")


def test_nonce_refuses_on_air_security_control_with_level_zero() -> None:
    with pytest.raises(ValueError, match="real level"):
        zigbee_nonce(h("0100FFEEDDCCBBAA"), 5, 0x28)


@pytest.mark.parametrize(
    ("source", "counter", "control", "message"),
    [
        (b"\x01" * 7, 0, 5, "8 bytes"),
        (b"\x01" * 8, 2**32, 5, "frame counter"),
        (b"\x01" * 8, -1, 5, "frame counter"),
        (b"\x01" * 8, 0, 0x100, "security control"),
    ],
)
def test_nonce_rejects_bad_arguments(source: bytes, counter: int, control: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        zigbee_nonce(source, counter, control)


# --- CCM* (vectors.md §3.2, §3.3) ------------------------------------------------------------------------------

CCM_KEY = h("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF")
CCM_NONCE = h("A0A1A2A3A4A5A6A7" "03020100" "06")
CCM_AAD = h("0001020304050607")
CCM_PLAINTEXT = h("08090A0B0C0D0E0F101112131415161718191A1B1C1D1E")
CCM_CIPHERTEXT = h("1A55A36ABB6C610D066B3375649CEF10D4664ECAD854A8")
CCM_MIC = h("0A895CC1D8FF9469")


def test_ccm_star_annex_vector_encrypts() -> None:
    assert ccm_star_encrypt(CCM_KEY, CCM_NONCE, CCM_AAD, CCM_PLAINTEXT, 8) == CCM_CIPHERTEXT + CCM_MIC


def test_ccm_star_annex_vector_decrypts() -> None:
    assert ccm_star_decrypt(CCM_KEY, CCM_NONCE, CCM_AAD, CCM_CIPHERTEXT + CCM_MIC, 8) == CCM_PLAINTEXT


def test_ccm_star_encryption_only_uses_the_same_key_stream() -> None:
    # CCM* with M = 0 encrypts with the same counter blocks A_1, A_2, ... as CCM, so the ciphertext of the
    # annex vector is unchanged and simply carries no MIC.
    assert ccm_star_encrypt(CCM_KEY, CCM_NONCE, CCM_AAD, CCM_PLAINTEXT, 0) == CCM_CIPHERTEXT
    assert ccm_star_decrypt(CCM_KEY, CCM_NONCE, CCM_AAD, CCM_CIPHERTEXT, 0) == CCM_PLAINTEXT


def test_ccm_star_captured_aps_transport_key_vector() -> None:
    ktk = key_transport_key(ZIGBEE_ALLIANCE_09)
    nonce = zigbee_nonce(h("F2A6C9FEFF277184"), 0x000B5053, 0x35)
    assert nonce == h("F2A6C9FEFF27718453500B0035")
    aad = h("21" "95" "35" "53500B00" "F2A6C9FEFF277184")
    plaintext = h(
        "05" "01" "AABBCCDDEEFF00112233445566778899" "00" "0102030405060708" "090A0B0C0D0E0F10"
    )
    expected = h("B67843D639C170F20B536FDA11B467CAAFECD6C24CD82DFBD1D8338A1DBD15EE1892AE51AB41EB")
    assert ccm_star_encrypt(ktk, nonce, aad, plaintext, MIC_LENGTHS[5]) == expected
    assert ccm_star_decrypt(ktk, nonce, aad, expected, MIC_LENGTHS[5]) == plaintext


def test_ccm_star_nwk_style_vector() -> None:
    key = h("01030507090B0D0F00020406080A0C0D")
    nonce = h("A1B2C3D4E5F6070801000000" "2D")
    expected = h("AC1774EC1776C27C41EE310AE00B5B5AA005C9")
    assert ccm_star_encrypt(key, nonce, b"NWK-HDR+AUX", b"hello-nwk-frame", 4) == expected


# Frames from vectors.md §3.4 (tshark decrypted them and checked the MIC), taken apart by hand here so the
# primitive can be checked on real header bytes. Link key = install-code key 66B6...02BB.
NETWORK_KEY = h("01030507090B0D0F00020406080A0C0D")
IC_LINK_KEY = h("66B6900981E1EE3CA4206B6B861C02BB")
DEVICE_EUI64 = EUI64.convert("AA:BB:CC:DD:EE:FF:00:01")
TC_EUI64 = EUI64.convert("11:22:33:44:55:66:77:88")


def test_nwk_secured_frame_3_decrypts_with_network_key() -> None:
    # NWK header (FCF 0x1208, dst 0x0000, src 0x1234, radius 30, seq 1, ext src) + aux header with level 5
    # restored (0x28 on air -> 0x2D), frame counter 5, ext source, key seq 0.
    nwk_header = h("0812" "0000" "3412" "1e" "01" "0100ffeeddccbbaa")
    aux_header = h("2d" "05000000" "0100ffeeddccbbaa" "00")
    ciphertext_and_mic = h("ff57e77d3aeb8f10d93d75b3994a3a206ebbb54048" "a3c700aa")
    nonce = zigbee_nonce(DEVICE_EUI64, 5, 0x2D)
    plaintext = ccm_star_decrypt(NETWORK_KEY, nonce, nwk_header + aux_header, ciphertext_and_mic, 4)
    assert plaintext == h("00" "01" "0207" "0901" "01" "22") + h("18" "01" "01" "0000" "00" "25" "40E201000000")


def test_nwk_frame_3_with_flipped_mic_byte_is_refused() -> None:
    # vectors.md §5.4: var195.pcap frame 6 = frame 3 with the last MIC byte a3c700aa -> a3c700ab.
    nwk_header = h("0812" "0000" "3412" "1e" "01" "0100ffeeddccbbaa")
    aux_header = h("2d" "05000000" "0100ffeeddccbbaa" "00")
    tampered = h("ff57e77d3aeb8f10d93d75b3994a3a206ebbb54048" "a3c700ab")
    with pytest.raises(SecurityError, match="MIC check failed"):
        ccm_star_decrypt(NETWORK_KEY, zigbee_nonce(DEVICE_EUI64, 5, 0x2D), nwk_header + aux_header, tampered, 4)


def test_aps_transport_key_frame_2_decrypts_with_key_transport_key() -> None:
    # APS FCF 0x21, APS counter 0x11, aux: 0x30 on air -> 0x35, frame counter 1, ext source = TC.
    aad = h("21" "11" "35" "01000000" "8877665544332211")
    ciphertext_and_mic = h(
        "db193a9a68427dc735ef2fce37c638f928aa4adaa94b6a100eec611b22e0675f66ec28" "8b96f175"
    )
    nonce = zigbee_nonce(TC_EUI64, 1, 0x35)
    plaintext = ccm_star_decrypt(key_transport_key(IC_LINK_KEY), nonce, aad, ciphertext_and_mic, 4)
    assert plaintext == h("0501" "01030507090B0D0F00020406080A0C0D" "00" "0100FFEEDDCCBBAA" "8877665544332211")


# --- Round trips and failures -----------------------------------------------------------------------------------

ROUND_TRIP_KEY = h("66B6900981E1EE3CA4206B6B861C02BB")
ROUND_TRIP_NONCE = h("0100FFEEDDCCBBAA" "2A000000" "05")


@pytest.mark.parametrize("level", sorted(MIC_LENGTHS))
def test_mic_lengths_follow_the_security_levels(level: int) -> None:
    assert MIC_LENGTHS[level] == {0: 0, 1: 4, 2: 8, 3: 16}[level & 0x3]


@pytest.mark.parametrize("mic_len", [0, 4, 8, 16])
@pytest.mark.parametrize("plaintext", [b"", b"\x01", bytes(range(40))], ids=["empty", "1 byte", "40 bytes"])
def test_ccm_star_round_trip(mic_len: int, plaintext: bytes) -> None:
    sealed = ccm_star_encrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"header", plaintext, mic_len)
    assert len(sealed) == len(plaintext) + mic_len
    if plaintext:
        assert sealed[: len(plaintext)] != plaintext
    assert ccm_star_decrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"header", sealed, mic_len) == plaintext


@pytest.mark.parametrize("mic_len", [4, 8, 16])
def test_flipped_mic_byte_raises_security_error(mic_len: int) -> None:
    sealed = bytearray(ccm_star_encrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"header", b"payload", mic_len))
    sealed[-1] ^= 0x01
    with pytest.raises(SecurityError, match="MIC check failed"):
        ccm_star_decrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"header", bytes(sealed), mic_len)


@pytest.mark.parametrize("mic_len", [4, 8, 16])
def test_changed_header_fails_the_mic(mic_len: int) -> None:
    sealed = ccm_star_encrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"header", b"payload", mic_len)
    with pytest.raises(SecurityError, match="MIC check failed"):
        ccm_star_decrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"HEADER", sealed, mic_len)


def test_authentication_only_level_carries_payload_in_auth_data() -> None:
    # Levels 1-3 (MIC-32/64/128): the payload is authenticated, not encrypted; CCM* then yields only the MIC.
    mic = ccm_star_encrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"header" + b"payload", b"", MIC_LENGTHS[1])
    assert len(mic) == 4
    assert ccm_star_decrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"header" + b"payload", mic, 4) == b""
    with pytest.raises(SecurityError):
        ccm_star_decrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"header" + b"paylOad", mic, 4)


def test_ciphertext_shorter_than_mic_is_a_security_error() -> None:
    with pytest.raises(SecurityError, match="shorter than the 8-byte MIC"):
        ccm_star_decrypt(ROUND_TRIP_KEY, ROUND_TRIP_NONCE, b"", b"\x00" * 5, 8)


@pytest.mark.parametrize(
    ("key", "nonce", "mic_len", "message"),
    [
        (b"\x00" * 15, ROUND_TRIP_NONCE, 4, "key must be 16 bytes"),
        (ROUND_TRIP_KEY, b"\x00" * 12, 4, "nonce must be 13 bytes"),
        (ROUND_TRIP_KEY, ROUND_TRIP_NONCE, 6, "MIC length 6 not one of 0, 4, 8, 16"),
    ],
)
def test_ccm_star_rejects_bad_arguments(key: bytes, nonce: bytes, mic_len: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ccm_star_encrypt(key, nonce, b"", b"x", mic_len)
    with pytest.raises(ValueError, match=message):
        ccm_star_decrypt(key, nonce, b"", b"x" * 20, mic_len)
