"""UK postcodes: validate, normalise, split into outward code (outcode) and inward code.

The SM WAN Coverage Database is queried by postcode (SR 12.1 `PartialAddress{PostCode}`, domain.md §1.10) and,
in the MP097 situation, by outcode alone ("the outcode is the first part of a postcode, such as GU1", seed §2).

Format rules (Royal Mail postcode format as set out in BS 7666 and the UK Government Data Standards Catalogue;
[S], not taken from the seed):
  outward code = area (1-2 letters) + district (a digit, then an optional digit or letter);
  inward code  = sector digit + 2-letter unit.
  Shapes: A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA.
  Letters never used: 1st position Q V X; 2nd position I J Z; 3rd position (A9A) only A B C D E F G H J K P S T U W;
  4th position (AA9A) only A B E H M N P R V W X Y; inward unit never C I K M O V.
Non-geographic and special codes (GIR 0AA, BFPO, overseas territories) are rejected: the DCC serves premises only.

Areas that are UK-format but not Great Britain (SEC and the DCC cover GB only): BT (Northern Ireland) and the
Crown Dependencies GY, JE (Channel Islands) and IM (Isle of Man). They parse; `is_great_britain` is False.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.errors import InputError

_FIRST_EXCLUDED = set("QVX")
_SECOND_EXCLUDED = set("IJZ")
_THIRD_ALLOWED = set("ABCDEFGHJKPSTUW")  # the letter in an A9A district
_FOURTH_ALLOWED = set("ABEHMNPRVWXY")  # the letter in an AA9A district
_INWARD_EXCLUDED = set("CIKMOV")

# Postcode areas outside Great Britain: name given in errors so a user sees why.
NON_GB_AREAS: dict[str, str] = {
    "BT": "Northern Ireland",
    "GY": "Guernsey (Channel Islands, a Crown Dependency)",
    "JE": "Jersey (Channel Islands, a Crown Dependency)",
    "IM": "the Isle of Man (a Crown Dependency)",
}

_OUTWARD_SHAPE = re.compile(r"^([A-Z]{1,2})([0-9][0-9A-Z]?)$")
_INWARD_SHAPE = re.compile(r"^[0-9][A-Z]{2}$")


@dataclass(frozen=True)
class Outcode:
    """The outward code of a postcode, e.g. ``GU1`` or ``EC1A``."""

    code: str

    @property
    def area(self) -> str:
        return _OUTWARD_SHAPE.match(self.code).group(1)  # type: ignore[union-attr]

    @property
    def district(self) -> str:
        return _OUTWARD_SHAPE.match(self.code).group(2)  # type: ignore[union-attr]

    @property
    def is_great_britain(self) -> bool:
        return self.area not in NON_GB_AREAS

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class Postcode:
    """A full postcode, normalised to upper case with one space: ``GU1 1AA``."""

    outward: str
    inward: str

    @property
    def outcode(self) -> Outcode:
        return Outcode(self.outward)

    @property
    def area(self) -> str:
        return self.outcode.area

    @property
    def is_great_britain(self) -> bool:
        return self.outcode.is_great_britain

    def __str__(self) -> str:
        return f"{self.outward} {self.inward}"


def _squash(text: object, what: str, where: str | None) -> str:
    if not isinstance(text, str):
        raise InputError(f"{what} must be text, got {text!r}", where=where)
    squashed = re.sub(r"\s+", "", text).upper()
    if not squashed:
        raise InputError(f"{what} is empty", where=where)
    return squashed


def _check_outward(outward: str, shown: str, what: str, where: str | None) -> None:
    match = _OUTWARD_SHAPE.match(outward)
    if not match:
        raise InputError(
            f"{what} {shown!r}: outward code {outward!r} is not 1-2 letters followed by a digit and an optional "
            "digit or letter (e.g. GU1, SW1A, M22)",
            where=where,
        )
    area, district = match.groups()
    if area[0] in _FIRST_EXCLUDED:
        raise InputError(f"{what} {shown!r}: no postcode area starts with {area[0]!r} (Q, V, X are not used)",
                         where=where)
    if len(area) == 2 and area[1] in _SECOND_EXCLUDED:
        raise InputError(f"{what} {shown!r}: {area[1]!r} is not used as the second letter of a postcode area "
                         "(I, J, Z are not used)", where=where)
    if len(district) == 2 and district[1].isalpha():
        allowed = _THIRD_ALLOWED if len(area) == 1 else _FOURTH_ALLOWED
        if district[1] not in allowed:
            raise InputError(
                f"{what} {shown!r}: district letter {district[1]!r} is not used in a "
                f"{'A9A' if len(area) == 1 else 'AA9A'} outward code (allowed: {''.join(sorted(allowed))})",
                where=where,
            )


def parse_outcode(text: str, *, where: str | None = None) -> Outcode:
    """Parse an outward code alone (``gu1`` → ``GU1``). A full postcode is refused: use parse_postcode."""
    squashed = _squash(text, "outcode", where)
    _check_outward(squashed, text, "outcode", where)
    return Outcode(squashed)


def parse_postcode(text: str, *, where: str | None = None) -> Postcode:
    """Parse a full postcode; spacing and case are free (``gu11aa`` → ``GU1 1AA``)."""
    squashed = _squash(text, "postcode", where)
    if len(squashed) < 5 or len(squashed) > 7:
        raise InputError(
            f"postcode {text!r} has {len(squashed)} letters and digits; a full UK postcode has 5 to 7 "
            "(outward code + inward code, e.g. 'GU1 1AA')",
            where=where,
        )
    outward, inward = squashed[:-3], squashed[-3:]
    if not _INWARD_SHAPE.match(inward):
        raise InputError(
            f"postcode {text!r}: inward code {inward!r} must be a digit followed by two letters (e.g. '1AA')",
            where=where,
        )
    bad = sorted(set(inward[1:]) & _INWARD_EXCLUDED)
    if bad:
        raise InputError(
            f"postcode {text!r}: inward code {inward!r} uses {', '.join(bad)}, never used in an inward code "
            "(C, I, K, M, O, V are excluded)",
            where=where,
        )
    _check_outward(outward, text, "postcode", where)
    return Postcode(outward, inward)


def parse_postcode_or_outcode(text: str, *, where: str | None = None) -> Postcode | Outcode:
    """A full postcode if the text ends in an inward code, else an outcode."""
    squashed = _squash(text, "postcode", where)
    if len(squashed) >= 5 and _INWARD_SHAPE.match(squashed[-3:]):
        return parse_postcode(text, where=where)
    return parse_outcode(text, where=where)
