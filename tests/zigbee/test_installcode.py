"""Install codes: vectors from research/vectors.md §1 and research/domain.md §4.4; parsing properties."""

from __future__ import annotations

import re
import string

import pytest
import zigpy.util
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InputError
from harness.zigbee.installcode import (
    InstallCode,
    crc16_x25,
    derive_link_key,
    install_code_from_bytes,
    parse_install_code,
)

h = bytes.fromhex

SPEC_CODE = "83FED3407A939723A5C639B26916D505"
SPEC_CRC = "C3B5"
SPEC_KEY = "66B6900981E1EE3CA4206B6B861C02BB"

# (code, CRC bytes as stored, link key) from vectors.md §1.2: published (✅) and cross-checked with zigpy (🔁).
ZIGBEE_VECTORS = [
    pytest.param(SPEC_CODE, SPEC_CRC, SPEC_KEY, id="spec 16+2"),
    pytest.param("1122334455667788", "4AF7", "41618FC0C83B0E14A589954B16E31466", id="zigpy 8+2"),
    pytest.param("83FED3407A939723A5C639FF", "4C12", "58C1828CF7F1C3FE29E7B1024AD84BFA", id="herdsman 12+2"),
    pytest.param("7A939723A5C639B269161802", "819B", "F93903721685FD329D26849B90F2959A", id="zigpy 12+2"),
    pytest.param("83FED3407A939723A5C639B269161802", "AEBB", "333C23686079468EB27BA24BD9C7E564", id="zigpy 16+2"),
    pytest.param("00112233445566778899AABBCCDDEEFF", "528F", "9AA467C78F4543F1BCA6CA03C3D73B31", id="16+2 xcheck"),
    pytest.param("112233445566", "5A60", "99FE5A277D48CD877A87907AF3F909EB", id="6+2 xcheck"),
    pytest.param("0011223344556677", "FC05", "AD7ED6ED93A33EEA104E266F36965509", id="8+2 xcheck"),
    pytest.param("83FED3407A939723A5C639B2", "AD8B", "C2B323EFC9FCA1D9657E32A0E5C2AAF3", id="12+2 xcheck"),
]


@pytest.mark.parametrize(("code", "crc", "key"), ZIGBEE_VECTORS)
def test_zigbee_install_code_gives_published_link_key(code: str, crc: str, key: str) -> None:
    install_code = parse_install_code(code + crc)
    assert install_code.hex() == code
    assert install_code.crc_hex() == crc
    assert install_code.crc_given
    assert install_code.link_key() == h(key)


@pytest.mark.parametrize(("code", "crc", "key"), ZIGBEE_VECTORS)
def test_zigpy_agrees_as_second_oracle(code: str, crc: str, key: str) -> None:
    # zigpy's convert_install_code is right for these short inputs (it is wrong only for >= 8192-byte hashes).
    assert derive_link_key(h(code + crc)) == bytes(zigpy.util.convert_install_code(h(code + crc)))


def test_crc16_x25_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E


def test_crc_of_spec_code_is_stored_lsb_first() -> None:
    assert crc16_x25(h(SPEC_CODE)) == 0xB5C3
    assert parse_install_code(SPEC_CODE + SPEC_CRC).crc_bytes == h("C3B5")


@pytest.mark.parametrize(
    "wrong_crc",
    [
        pytest.param("B5C3", id="X-25 byte-swapped"),
        pytest.param("08FF", id="XMODEM 0xFF08"),
        pytest.param("6A1A", id="Kermit 0x1A6A"),
        pytest.param("0295", id="CCITT-FALSE 0x9502"),
    ],
)
def test_other_crc_variants_are_refused(wrong_crc: str) -> None:
    with pytest.raises(InputError, match=f"CRC given {wrong_crc} but computed C3B5"):
        parse_install_code(SPEC_CODE + wrong_crc)


def test_wrong_crc_error_names_the_field() -> None:
    with pytest.raises(InputError) as caught:
        parse_install_code(SPEC_CODE + "C3B6", where="rigs/bench.yaml: devices.esme.install_code")
    assert caught.value.where == "rigs/bench.yaml: devices.esme.install_code"
    assert str(caught.value).startswith("rigs/bench.yaml: devices.esme.install_code: CRC given C3B6 but computed C3B5")


# --- GB 16-byte codes (DUIS SRV 8.11, no CRC) --------------------------------------------------------------------


def test_gb_code_append_mode_hashes_with_computed_crc() -> None:
    install_code = parse_install_code(SPEC_CODE)
    assert install_code.crc_mode == "append"
    assert not install_code.crc_given
    assert install_code.crc_hex() == SPEC_CRC
    assert install_code.link_key() == h(SPEC_KEY)


def test_gb_rtds_sample_code_in_both_crc_modes() -> None:
    # research/domain.md §4.4: the RTDS sample "0123456789ABCDEF" (ASCII); derived there, not by this code.
    code = "30313233343536373839414243444546"
    assert derive_link_key(code, "append") == h("17E92CAAA342C367E8EDDC58EEBA69ED")
    assert parse_install_code(code).crc_hex() == "F596"
    assert derive_link_key(code, "none") == h("3528C16449E1C30F62AFD614580B7AD0")


def test_crc_mode_none_hashes_the_bare_16_bytes() -> None:
    install_code = parse_install_code(SPEC_CODE, crc_mode="none")
    assert install_code.crc_mode == "none"
    assert install_code.hashed_bytes == h(SPEC_CODE)
    assert install_code.link_key() != h(SPEC_KEY)


def test_crc_mode_none_with_given_crc_still_checks_it() -> None:
    assert parse_install_code(SPEC_CODE + SPEC_CRC, crc_mode="none").hashed_bytes == h(SPEC_CODE)
    with pytest.raises(InputError, match="CRC given"):
        parse_install_code(SPEC_CODE + "0000", crc_mode="none")


def test_crc_mode_none_refused_for_non_gb_lengths() -> None:
    with pytest.raises(InputError, match="16-byte GB codes only"):
        parse_install_code("1122334455667788" "4AF7", crc_mode="none")


def test_unknown_crc_mode_is_refused() -> None:
    with pytest.raises(InputError, match="CRC mode 'strip'"):
        parse_install_code(SPEC_CODE, crc_mode="strip")  # type: ignore[arg-type]


# --- Parsing errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 2, 6, 7, 9, 12, 15, 17, 19, 32])
def test_bad_lengths_are_refused_with_the_allowed_ones(length: int) -> None:
    expected = (
        f"length {length} bytes not one of 8, 10, 14, 18 (ZigBee: 6/8/12/16 + 2-byte CRC) or 16 (GB, no CRC)"
    )
    with pytest.raises(InputError, match=re.escape(expected)):
        parse_install_code("AB" * length)


def test_odd_digit_count_and_empty_input_are_refused() -> None:
    with pytest.raises(InputError, match="odd number of hex digits"):
        parse_install_code(SPEC_CODE + "C3B")
    with pytest.raises(InputError, match="empty install code"):
        parse_install_code(" : - ")


def test_non_hex_character_reports_one_based_position() -> None:
    with pytest.raises(InputError, match=r"non-hex character 'Z' at position 6 \(1-based\)"):
        parse_install_code("83FE Z340")


def test_install_code_from_bytes_checks_the_same_rules() -> None:
    assert install_code_from_bytes(h(SPEC_CODE + SPEC_CRC)).link_key() == h(SPEC_KEY)
    with pytest.raises(InputError, match="length 3 bytes"):
        install_code_from_bytes(b"abc")


# --- Secrets ------------------------------------------------------------------------------------------------------


def test_repr_and_str_redact_code_and_key() -> None:
    install_code = parse_install_code(SPEC_CODE + SPEC_CRC)
    for text in (repr(install_code), str(install_code), f"{install_code}", repr([install_code])):
        assert "83FE" not in text.upper() and "66B6" not in text.upper() and "C3B5" not in text.upper()
    assert repr(install_code) == "InstallCode(<redacted 16+2 bytes>)"
    assert repr(parse_install_code(SPEC_CODE, crc_mode="none")) == "InstallCode(<redacted 16 bytes, crc-mode none>)"


def test_install_code_object_refuses_inconsistent_fields() -> None:
    with pytest.raises(ValueError):
        InstallCode(h(SPEC_CODE), 0x1234)
    with pytest.raises(ValueError):
        InstallCode(b"\x00" * 5, crc16_x25(b"\x00" * 5))


# --- Properties ---------------------------------------------------------------------------------------------------

SEPARATORS = " :-"
valid_code_bytes = st.sampled_from([6, 8, 12, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n))


def _with_crc(code: bytes) -> bytes:
    return code + crc16_x25(code).to_bytes(2, "little")


@given(code=valid_code_bytes, data=st.data())
def test_any_separator_placement_and_case_give_the_same_code(code: bytes, data: st.DataObject) -> None:
    digits = _with_crc(code).hex()
    pieces = []
    for digit in digits:
        pieces.append(data.draw(st.text(alphabet=SEPARATORS, max_size=2)))
        pieces.append(digit.upper() if data.draw(st.booleans()) else digit)
    pieces.append(data.draw(st.text(alphabet=SEPARATORS, max_size=2)))
    parsed = parse_install_code("".join(pieces))
    assert parsed.code == code
    assert parsed.link_key() == parse_install_code(digits).link_key()


NON_HEX = st.characters(
    blacklist_characters=string.hexdigits + SEPARATORS + "\t\r\n", blacklist_categories=("Cs",)
)


@given(code=valid_code_bytes, bad=NON_HEX, data=st.data())
def test_any_non_hex_character_is_reported_at_its_position(code: bytes, bad: str, data: st.DataObject) -> None:
    text = "-".join(_with_crc(code).hex()[i : i + 4] for i in range(0, 2 * len(code) + 4, 4))
    index = data.draw(st.integers(min_value=0, max_value=len(text)))
    broken = text[:index] + bad + text[index:]
    with pytest.raises(InputError) as caught:
        parse_install_code(broken)
    assert f"non-hex character {bad!r} at position {index + 1} (1-based)" in str(caught.value)


@given(code=valid_code_bytes, flip=st.integers(min_value=1, max_value=0xFFFF))
def test_any_corrupted_crc_is_refused(code: bytes, flip: int) -> None:
    wrong = (crc16_x25(code) ^ flip).to_bytes(2, "little")
    with pytest.raises(InputError, match="CRC given"):
        parse_install_code((code + wrong).hex())
