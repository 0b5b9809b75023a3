"""UK postcode validation (format rules: Royal Mail / BS 7666, cited in harness/smets/postcode.py)."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.smets.postcode import Outcode, Postcode, parse_outcode, parse_postcode, parse_postcode_or_outcode


@pytest.mark.parametrize(
    ("text", "outward", "inward"),
    [
        ("GU1 1AA", "GU1", "1AA"),  # AA9 9AA
        ("gu11aa", "GU1", "1AA"),  # case and spacing are free
        ("  m22   0rr ", "M22", "0RR"),  # A99 9AA — the RTDS 12.1 template's postcode (domain.md §1.10)
        ("B1 1RD", "B1", "1RD"),  # A9 9AA
        ("EH12 9NB", "EH12", "9NB"),  # AA99 9AA
        ("W1A 0AX", "W1A", "0AX"),  # A9A 9AA
        ("EC1A 1BB", "EC1A", "1BB"),  # AA9A 9AA
    ],
)
def test_valid_postcodes_normalise_to_outward_space_inward(text: str, outward: str, inward: str) -> None:
    pc = parse_postcode(text)
    assert pc == Postcode(outward, inward)
    assert str(pc) == f"{outward} {inward}"
    assert pc.outcode == Outcode(outward)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        ("GU1", "5 to 7"),  # an outcode is not a full postcode
        ("GU1 1AAA", "inward code 'AAA'"),
        ("GU12 11AA", "5 to 7"),
        ("GU1 AAA", "digit followed by two letters"),
        ("GU1 1CA", "C"),  # inward unit never uses C I K M O V
        ("GU1 1AV", "V"),
        ("QU1 1AA", "'Q'"),  # first letter never Q V X
        ("GI1 1AA", "'I'"),  # second letter never I J Z
        ("W1L 0AX", "'L'"),  # A9A district letter not allowed
        ("EC1C 1BB", "'C'"),  # AA9A district letter not allowed
        ("1GU 1AA", "outward code"),
        ("GU-1 1AA", "outward code"),
    ],
)
def test_malformed_postcodes_are_refused_naming_value_and_fault(text: str, complaint: str) -> None:
    with pytest.raises(InputError) as err:
        parse_postcode(text, where="--postcode")
    message = str(err.value)
    assert message.startswith("--postcode: ")
    assert complaint in message
    if text.strip():
        assert repr(text) in message


def test_non_text_is_refused() -> None:
    with pytest.raises(InputError, match="must be text"):
        parse_postcode(12345)  # type: ignore[arg-type]


def test_outcode_alone() -> None:
    assert parse_outcode(" gu1 ") == Outcode("GU1")
    assert parse_outcode("SW1A").area == "SW"
    assert parse_outcode("SW1A").district == "1A"
    with pytest.raises(InputError, match="outward code 'GU11AA'"):
        parse_outcode("GU1 1AA")


def test_postcode_or_outcode() -> None:
    assert parse_postcode_or_outcode("GU1") == Outcode("GU1")
    assert parse_postcode_or_outcode("EC1A") == Outcode("EC1A")
    assert parse_postcode_or_outcode("gu1 1aa") == Postcode("GU1", "1AA")


@pytest.mark.parametrize("text", ["BT1 1AA", "JE2 3AB", "GY1 1AA", "IM1 1AA"])
def test_northern_ireland_and_crown_dependencies_parse_but_are_not_great_britain(text: str) -> None:
    assert not parse_postcode(text).is_great_britain
    assert parse_postcode("GU1 1AA").is_great_britain
