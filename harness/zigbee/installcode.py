"""Install codes: parse, check the CRC, derive the link key.

ZigBee: an install code is 6, 8, 12 or 16 bytes followed by a 2-byte CRC-16/X-25, stored least-significant
byte first; the link key is AES-MMO over code || CRC (research/domain.md 4.4, research/vectors.md 1.1).
GB (DUIS SRV 8.11 "Update HAN Device Log") carries a bare 16-byte code with no CRC. Whether a GB hub hashes
those 16 bytes with a CRC appended or on their own is unsettled (research/domain.md 4.4, [U]), so it is a setting:
crc_mode "append" (default: compute the CRC, append it, hash 18 bytes) or "none" (hash the 16 bytes).
See docs/crypto.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

from harness.errors import InputError
from harness.zigbee.security import aes_mmo_hash

__all__ = [
    "CrcMode",
    "CRC_MODES",
    "ZIGBEE_CODE_LENGTHS",
    "GB_CODE_LENGTH",
    "InstallCode",
    "crc16_x25",
    "parse_install_code",
    "install_code_from_bytes",
    "derive_link_key",
]

CrcMode = Literal["append", "none"]
CRC_MODES: Final[tuple[str, ...]] = get_args(CrcMode)
ZIGBEE_CODE_LENGTHS: Final = (6, 8, 12, 16)  # code bytes before the 2-byte CRC
GB_CODE_LENGTH: Final = 16  # bare code as carried in DUIS SRV 8.11
CRC_LENGTH: Final = 2
_SEPARATORS: Final = frozenset(" \t\r\n:-")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_LENGTH_HELP: Final = "not one of 8, 10, 14, 18 (ZigBee: 6/8/12/16 + 2-byte CRC) or 16 (GB, no CRC)"


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 (a.k.a. IBM-SDLC): poly 0x1021 reflected, init 0xFFFF, xorout 0xFFFF; check('123456789') = 0x906E."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def _crc_hex(crc: int) -> str:
    """A CRC as its two bytes in stored/printed order (LSB first), e.g. 0xB5C3 -> 'C3B5'."""
    return crc.to_bytes(CRC_LENGTH, "little").hex().upper()


@dataclass(frozen=True, repr=False)
class InstallCode:
    """An install code. `code` is without the CRC; `crc` is its CRC-16/X-25 value (an int).

    `crc_given` says whether the CRC came with the input (and was verified) or was computed here.
    `crc_mode` says whether the CRC is hashed into the link key ("append") or not ("none", GB 16-byte codes only).
    """

    code: bytes
    crc: int
    crc_mode: CrcMode = "append"
    crc_given: bool = False

    def __post_init__(self) -> None:
        if len(self.code) not in ZIGBEE_CODE_LENGTHS:
            raise ValueError(f"install code body of {len(self.code)} bytes not one of 6, 8, 12, 16")
        if self.crc != crc16_x25(self.code):
            raise ValueError("install code CRC does not match its code")
        if self.crc_mode not in CRC_MODES:
            raise ValueError(f"crc_mode {self.crc_mode!r} not one of {', '.join(CRC_MODES)}")
        if self.crc_mode == "none" and len(self.code) != GB_CODE_LENGTH:
            raise ValueError("crc_mode 'none' applies to 16-byte GB codes only")

    @property
    def crc_bytes(self) -> bytes:
        """The CRC as stored after the code: least-significant byte first."""
        return self.crc.to_bytes(CRC_LENGTH, "little")

    @property
    def hashed_bytes(self) -> bytes:
        """What AES-MMO hashes into the link key: code || CRC, or the bare code for crc_mode 'none'."""
        return self.code if self.crc_mode == "none" else self.code + self.crc_bytes

    def link_key(self) -> bytes:
        """The 16-byte link key = AES-MMO(hashed_bytes)."""
        return aes_mmo_hash(self.hashed_bytes)

    def hex(self) -> str:
        """The code without its CRC, upper-case hex with no separators."""
        return self.code.hex().upper()

    def crc_hex(self) -> str:
        """The CRC bytes as printed after the code (LSB first), upper-case hex."""
        return _crc_hex(self.crc)

    def __repr__(self) -> str:  # secrets: never show the code or the key
        if self.crc_mode == "append":
            return f"InstallCode(<redacted {len(self.code)}+2 bytes>)"
        return f"InstallCode(<redacted {len(self.code)} bytes, crc-mode none>)"

    __str__ = __repr__


def _hex_to_bytes(text: str, where: str | None) -> bytes:
    digits: list[str] = []
    for index, char in enumerate(text):
        if char in _SEPARATORS:
            continue
        if char not in _HEX_DIGITS:
            raise InputError(f"non-hex character {char!r} at position {index + 1} (1-based)", where=where)
        digits.append(char)
    if not digits:
        raise InputError("empty install code", where=where)
    if len(digits) % 2:
        raise InputError(f"odd number of hex digits ({len(digits)}): a byte is two digits", where=where)
    return bytes.fromhex("".join(digits))


def install_code_from_bytes(
    data: bytes, *, crc_mode: CrcMode = "append", where: str | None = None
) -> InstallCode:
    """Check raw install-code bytes: 8/10/14/18 bytes with a CRC (verified) or 16 bare GB bytes."""
    data = bytes(data)
    if crc_mode not in CRC_MODES:
        raise InputError(f"CRC mode {crc_mode!r} not one of {', '.join(CRC_MODES)}", where=where)
    if len(data) == GB_CODE_LENGTH:
        return InstallCode(data, crc16_x25(data), crc_mode, crc_given=False)
    if len(data) - CRC_LENGTH not in ZIGBEE_CODE_LENGTHS:
        raise InputError(f"length {len(data)} bytes {_LENGTH_HELP}", where=where)
    code, given = data[:-CRC_LENGTH], int.from_bytes(data[-CRC_LENGTH:], "little")
    computed = crc16_x25(code)
    if given != computed:
        raise InputError(
            f"CRC given {_crc_hex(given)} but computed {_crc_hex(computed)} "
            "(CRC-16/X-25 over the code, bytes least-significant first)",
            where=where,
        )
    if crc_mode == "none" and len(code) != GB_CODE_LENGTH:
        raise InputError(
            f"CRC mode 'none' applies to 16-byte GB codes only; a {len(code)}-byte ZigBee code is always "
            "hashed with its CRC",
            where=where,
        )
    return InstallCode(code, computed, crc_mode, crc_given=True)


def parse_install_code(text: str, *, crc_mode: CrcMode = "append", where: str | None = None) -> InstallCode:
    """Parse hex (separators ' ', ':', '-' allowed anywhere) into a checked InstallCode.

    Raises InputError naming `where` (a file/field) for non-hex characters, bad lengths and wrong CRCs.
    """
    if not isinstance(text, str):
        raise InputError(f"install code must be a hex string, got {type(text).__name__}", where=where)
    return install_code_from_bytes(_hex_to_bytes(text, where), crc_mode=crc_mode, where=where)


def derive_link_key(text_or_bytes: str | bytes, crc_mode: CrcMode = "append", *, where: str | None = None) -> bytes:
    """The link key for an install code given as hex text or raw bytes."""
    if isinstance(text_or_bytes, str):
        install_code = parse_install_code(text_or_bytes, crc_mode=crc_mode, where=where)
    else:
        install_code = install_code_from_bytes(text_or_bytes, crc_mode=crc_mode, where=where)
    return install_code.link_key()
