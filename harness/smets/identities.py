"""Who and what the SMETS2 domain talks about: device EUI-64s, GBCS device types, DCC User roles, parties, MPxNs.

Sources (facts only; the code is ours):
* EUI-64 text forms: DUIS writes `00-DB-12-34-56-78-90-A0` (domain.md §0 "RTDS identity conventions", [DT]);
  zigpy writes `00:db:12:34:56:78:90:a0`; delivery files often write 16 bare hex digits.
* Device types: GBCS enumeration gSME 0 .. type2 6 (domain.md §4.1, [GBCS-ED] p.195, [GP] asn1.ts).
* Roles: DUIS User Roles IS, GS, ES, ED, GT, RSA, OU (domain.md §1.1, [DP] duis-request-matrix.json).
* MPAN core check digit: the modulus-11 prime-weight rule published with the MPAN definition (Elexon MRA;
  reproduced on Wikipedia's "Meter Point Administration Number" page): weights 3,5,7,13,17,19,23,29,31,37,41,43
  on the first 12 digits, check = sum mod 11 mod 10.
* MPRN: 6 to 10 digits (Xoserve's Meter Point Reference Number; no public check-digit rule is applied here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import ClassVar, Final, Self

import zigpy.types

from harness.errors import InputError

__all__ = [
    "Eui64",
    "DeviceType",
    "Role",
    "Party",
    "Mpan",
    "Mprn",
    "Mpxn",
    "parse_mpxn",
    "mpan_check_digit",
]

_HEX16 = re.compile(r"[0-9A-Fa-f]{16}")
_SEPARATED = re.compile(r"[0-9A-Fa-f]{2}([-:])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){6}")


@dataclass(frozen=True, order=True)
class Eui64:
    """An IEEE EUI-64 (device ID), held as a 64-bit integer, most significant octet first as DUIS writes it."""

    value: int

    def __post_init__(self) -> None:
        if not isinstance(self.value, int) or not 0 <= self.value < 1 << 64:
            raise InputError(f"EUI-64 value {self.value!r} is not a 64-bit unsigned integer")

    @classmethod
    def parse(cls, text: str | Eui64 | zigpy.types.EUI64, *, where: str | None = None) -> Eui64:
        """Accept `00-DB-12-34-56-78-90-A0`, `00:db:12:34:56:78:90:a0` or `00DB1234567890A0` (any case)."""
        if isinstance(text, Eui64):
            return text
        if isinstance(text, zigpy.types.EUI64):
            return cls.from_zigpy(text)
        if not isinstance(text, str):
            raise InputError(
                f"EUI-64 {text!r} is not text; expected 16 hex digits such as 00-DB-12-34-56-78-90-A0",
                where=where,
            )
        stripped = text.strip()
        if _HEX16.fullmatch(stripped):
            return cls(int(stripped, 16))
        if _SEPARATED.fullmatch(stripped):
            return cls(int(re.sub(r"[-:]", "", stripped), 16))
        raise InputError(
            f"EUI-64 {text!r} is not 8 hex octets; expected 00-DB-12-34-56-78-90-A0, "
            "00:db:12:34:56:78:90:a0 or 00DB1234567890A0",
            where=where,
        )

    @property
    def dcc(self) -> str:
        """DUIS form: upper-case octets joined by '-'."""
        return self.value.to_bytes(8, "big").hex("-").upper()

    @property
    def compact(self) -> str:
        return f"{self.value:016X}"

    def to_bytes(self) -> bytes:
        """Big-endian octets (the order DUIS and GBCS print)."""
        return self.value.to_bytes(8, "big")

    def to_zigpy(self) -> zigpy.types.EUI64:
        # zigpy keeps the octets in over-the-air (little-endian) order.
        return zigpy.types.EUI64(self.value.to_bytes(8, "little"))

    @classmethod
    def from_zigpy(cls, eui: zigpy.types.EUI64) -> Eui64:
        return cls(int.from_bytes(bytes(eui), "little"))

    def __str__(self) -> str:
        return self.dcc

    def __repr__(self) -> str:
        return f"Eui64({self.dcc})"


class DeviceType(IntEnum):
    """GBCS device types (domain.md §4.1 [V]). An HHT is not a GBCS type: device-log entries flag it instead."""

    GSME = 0
    ESME = 1
    CHF = 2
    GPF = 3
    HCALCS = 4  # type 1 HAN Connected Auxiliary Load Control Switch
    PPMID = 5  # type 1 Prepayment Interface Device
    TYPE2 = 6  # IHD / CAD: no SMI status (domain.md §3 [V])


class Role(StrEnum):
    """DCC User Roles as DUIS names them (domain.md §1.1 [DP])."""

    IS = "ImportSupplier"
    GS = "GasSupplier"
    ES = "ExportSupplier"
    ED = "ElectricityDistributor"
    GT = "GasTransporter"
    RSA = "RegisteredSupplierAgent"
    OU = "OtherUser"

    @property
    def code(self) -> str:
        """Short code ('IS', 'GS', ...) as in the DUIS request matrix."""
        return self.name

    @classmethod
    def parse(cls, text: str, *, where: str | None = None) -> Role:
        for role in cls:
            if text in (role.name, role.value):
                return role
        raise InputError(
            f"role {text!r} is not a DCC User Role; expected one of "
            + ", ".join(f"{r.name} ({r.value})" for r in cls),
            where=where,
        )


@dataclass(frozen=True)
class Party:
    """A DCC User acting in one role, e.g. a supplier (its User ID is an EUI-64, domain.md §0)."""

    name: str
    user_id: Eui64
    role: Role

    def __str__(self) -> str:
        return f"{self.name} ({self.role.code} {self.user_id.dcc})"


# --- MPxN ------------------------------------------------------------------------------------------------------

# Elexon MPAN core check digit weights: the primes from 3 up to 43, leaving out 11.
_MPAN_WEIGHTS: Final = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)


def mpan_check_digit(first12: str) -> int:
    """The check digit of an MPAN core from its first 12 digits (sum of digit*prime, mod 11, mod 10)."""
    if len(first12) != 12 or not first12.isascii() or not first12.isdigit():
        raise InputError(f"MPAN core prefix {first12!r} is not 12 digits")
    return sum(int(d) * w for d, w in zip(first12, _MPAN_WEIGHTS, strict=True)) % 11 % 10


class _MeterPoint:
    """Parsing MPAN and MPRN share: drop the separators people write, validate, and name `where` in the error."""

    _SEPARATORS: ClassVar[str]  # a regex of the characters to drop

    @classmethod
    def parse(cls, text: str, *, where: str | None = None) -> Self:
        cleaned = re.sub(cls._SEPARATORS, "", text) if isinstance(text, str) else text
        try:
            return cls(cleaned)  # type: ignore[call-arg]
        except InputError as exc:
            raise InputError(str(exc), where=where) from None


@dataclass(frozen=True, order=True)
class Mpan(_MeterPoint):
    """An electricity Meter Point Administration Number core: 13 digits, the last a check digit."""

    _SEPARATORS: ClassVar[str] = r"[\s-]"
    core: str

    def __post_init__(self) -> None:
        c = self.core
        if not isinstance(c, str) or len(c) != 13 or not c.isascii() or not c.isdigit():
            raise InputError(f"MPAN {c!r} is not a 13-digit MPAN core")
        expected = mpan_check_digit(c[:12])
        if int(c[12]) != expected:
            raise InputError(f"MPAN {c!r} fails its check digit: last digit is {c[12]}, expected {expected}")

    @property
    def fuel(self) -> str:
        return "electricity"

    def __str__(self) -> str:
        return self.core


@dataclass(frozen=True, order=True)
class Mprn(_MeterPoint):
    """A gas Meter Point Reference Number: 6 to 10 digits."""

    _SEPARATORS: ClassVar[str] = r"\s"
    number: str

    def __post_init__(self) -> None:
        n = self.number
        if not isinstance(n, str) or not 6 <= len(n) <= 10 or not n.isascii() or not n.isdigit():
            raise InputError(f"MPRN {n!r} is not 6 to 10 digits")

    @property
    def fuel(self) -> str:
        return "gas"

    def __str__(self) -> str:
        return self.number


Mpxn = Mpan | Mprn


def parse_mpxn(text: str | Mpan | Mprn, *, where: str | None = None) -> Mpan | Mprn:
    """13 digits is an MPAN (check digit validated); 6 to 10 digits is an MPRN."""
    if isinstance(text, (Mpan, Mprn)):
        return text
    if not isinstance(text, str):
        raise InputError(f"MPxN {text!r} is not text", where=where)
    cleaned = re.sub(r"[\s-]", "", text)
    if len(cleaned) == 13:
        return Mpan.parse(cleaned, where=where)
    if 6 <= len(cleaned) <= 10:
        return Mprn.parse(cleaned, where=where)
    raise InputError(
        f"MPxN {text!r} is neither a 13-digit MPAN core nor a 6-10 digit MPRN", where=where
    )
