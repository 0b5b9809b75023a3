"""EUI-64, device types, roles, parties and MPxNs (domain.md §0, §1.1, §4.1)."""

from __future__ import annotations

import pytest
import zigpy.types
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import InputError
from harness.smets.identities import (
    DeviceType,
    Eui64,
    Mpan,
    Mprn,
    Party,
    Role,
    mpan_check_digit,
    parse_mpxn,
)

ESME = "00-DB-12-34-56-78-90-A0"  # RTDS ESME (domain.md §0)


@pytest.mark.parametrize(
    "text",
    ["00-DB-12-34-56-78-90-A0", "00DB1234567890A0", "00:db:12:34:56:78:90:a0", "00db1234567890a0", " 00-db-12-34-56-78-90-a0 "],
)
def test_eui64_accepts_dcc_compact_and_colon_forms(text: str) -> None:
    eui = Eui64.parse(text)
    assert eui.dcc == ESME
    assert eui.compact == "00DB1234567890A0"
    assert eui.value == 0x00DB1234567890A0
    assert str(eui) == ESME


@pytest.mark.parametrize(
    "bad",
    ["", "00-DB-12-34-56-78-90", "00-DB-12-34-56-78-90-A0-FF", "00DB1234567890AG", "00-DB:12-34-56-78-90-A0", "0-DB-12-34-56-78-90-A0"],
)
def test_eui64_rejects_bad_text_naming_value_and_expectation(bad: str) -> None:
    with pytest.raises(InputError) as err:
        Eui64.parse(bad, where="8.11 DeviceID")
    message = str(err.value)
    assert "8.11 DeviceID" in message
    assert repr(bad) in message
    assert "00-DB-12-34-56-78-90-A0" in message  # says what was expected


def test_eui64_is_hashable_ordered_and_frozen() -> None:
    a0, a1 = Eui64.parse("00-DB-12-34-56-78-90-A0"), Eui64.parse("00-DB-12-34-56-78-90-A1")
    assert a0 < a1
    assert {a0, Eui64.parse("00db1234567890a0")} == {a0}
    with pytest.raises(AttributeError):
        a0.value = 1  # type: ignore[misc]


def test_eui64_round_trips_through_zigpy_in_the_same_printed_order() -> None:
    eui = Eui64.parse(ESME)
    z = eui.to_zigpy()
    assert isinstance(z, zigpy.types.EUI64)
    assert str(z) == "00:db:12:34:56:78:90:a0"  # zigpy prints most significant octet first, like DUIS
    assert Eui64.from_zigpy(zigpy.types.EUI64.convert("00:db:12:34:56:78:90:a0")) == eui


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_eui64_text_forms_round_trip(value: int) -> None:
    eui = Eui64(value)
    assert Eui64.parse(eui.dcc) == eui
    assert Eui64.parse(eui.compact) == eui
    assert Eui64.from_zigpy(eui.to_zigpy()) == eui


def test_device_types_follow_the_gbcs_enumeration() -> None:
    # domain.md §4.1: gSME 0, eSME 1, CHF 2, GPF 3, HCALCS 4, PPMID 5, type2 6
    assert [(t.name, t.value) for t in DeviceType] == [
        ("GSME", 0), ("ESME", 1), ("CHF", 2), ("GPF", 3), ("HCALCS", 4), ("PPMID", 5), ("TYPE2", 6)
    ]


def test_roles_have_duis_names_and_short_codes() -> None:
    assert Role.IS == "ImportSupplier" and Role.IS.code == "IS"
    assert Role.GS.value == "GasSupplier" and Role.RSA.code == "RSA"
    assert Role.parse("OU") is Role.OU and Role.parse("ElectricityDistributor") is Role.ED
    with pytest.raises(InputError, match="'Installer'"):
        Role.parse("Installer")


def test_party_is_a_value() -> None:
    supplier = Party("Supplier A", Eui64.parse("90-B3-D5-1F-30-01-00-00"), Role.IS)
    assert supplier == Party("Supplier A", Eui64.parse("90B3D51F30010000"), Role.IS)
    assert "90-B3-D5-1F-30-01-00-00" in str(supplier)


def test_mpan_check_digit_by_hand() -> None:
    # Weights 3,5,7,13,17,19,23,29,31,37,41,43 (Elexon MPAN core rule):
    # 1*3+2*5+0*7+0*13+0*17+2*19+3*23+3*29+0*31+5*37+9*41+6*43 = 1019; 1019 mod 11 = 7; 7 mod 10 = 7.
    assert mpan_check_digit("120002330596") == 7
    assert Mpan.parse("1200023305967").core == "1200023305967"
    assert Mpan.parse("12 0002 3305 967").core == "1200023305967"


def test_mpan_with_wrong_check_digit_is_rejected_naming_both_digits() -> None:
    with pytest.raises(InputError, match=r"'1200023305968'.*last digit is 8, expected 7"):
        Mpan.parse("1200023305968", where="ImportMPxN")


def test_mpan_check_digit_of_ten_becomes_zero() -> None:
    # A sum that is 10 mod 11 gives check digit 0: 2*5 = 10.
    assert mpan_check_digit("020000000000") == 0
    assert Mpan("0200000000000").core == "0200000000000"


@pytest.mark.parametrize("bad", ["120002330596", "12000233059677", "12000233O5967"])
def test_mpan_needs_13_digits(bad: str) -> None:
    with pytest.raises(InputError, match="13-digit"):
        Mpan(bad)


def test_mprn_is_6_to_10_digits() -> None:
    assert Mprn("123456").number == "123456"
    assert Mprn("1234567890").number == "1234567890"
    for bad in ("12345", "12345678901", "12345A"):
        with pytest.raises(InputError, match="6 to 10 digits"):
            Mprn(bad)


def test_parse_mpxn_tells_mpan_from_mprn() -> None:
    assert parse_mpxn("1200023305967") == Mpan("1200023305967")
    assert parse_mpxn("7123456") == Mprn("7123456")
    with pytest.raises(InputError, match="ImportMPxN.*neither"):
        parse_mpxn("12345678901", where="ImportMPxN")


def test_parse_accepts_an_eui64_or_a_zigpy_eui64() -> None:
    eui = Eui64.parse(ESME)
    assert Eui64.parse(eui) is eui
    assert Eui64.parse(zigpy.types.EUI64.convert("00:db:12:34:56:78:90:a0")) == eui
    with pytest.raises(InputError, match="not text"):
        Eui64.parse(1234)  # type: ignore[arg-type]
