"""ASH framing (Silicon Labs UG101 "UART-EZSP Gateway Protocol Reference"), written from the specification.

Pure functions, no I/O. The emulated NCP parses the host's bytes with this, not with the host's own code, so a
framing bug in bellows would show up as a disagreement instead of passing unnoticed. Section names are UG101's:
§2 "Frames", §3 "Frame Formats", §4 "Protocol Operations".

A frame on the wire (§2, §4 "Sending Frames"): control byte, data field (DATA: randomised EZSP frame;
RSTACK/ERROR: version + code), CRC over both, high byte first; all of it byte-stuffed; then the Flag byte.

    encode(frame)            -> stuffed wire bytes ending with FLAG
    parse(unstuff(raw))      -> frame, for the bytes between two flags (raises AshFrameError)
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

# §4 "Reserved Bytes and Byte Stuffing"
FLAG = 0x7E  # ends a frame
ESCAPE = 0x7D  # the next byte has bit 5 inverted
XON = 0x11  # software flow control: resume
XOFF = 0x13  # software flow control: stop
SUBSTITUTE = 0x18  # a byte lost to a UART error: the frame is void
CANCEL = 0x1A  # discard the frame in progress
RESERVED = frozenset({FLAG, ESCAPE, XON, XOFF, SUBSTITUTE, CANCEL})
_FLIP = 0x20

ASH_VERSION = 0x02  # §3 RSTACK/ERROR: "fixed at 0x02 in this version of ASH"
MIN_DATA_FIELD = 3  # §2: a DATA frame's data field is 3-128 bytes

# §2 "Control Byte" table.
_RST, _RSTACK, _ERROR = 0xC0, 0xC1, 0xC2
_ACK, _NAK = 0x80, 0xA0  # 100 res nRdy ackNum(3) / 101 res nRdy ackNum(3)


class AshFrameError(ValueError):
    """The bytes between two flags are not a valid ASH frame."""


class FrameTooShort(AshFrameError):
    pass


class CrcMismatch(AshFrameError):
    def __init__(self, received: int, computed: int, raw: bytes) -> None:
        super().__init__(
            f"ASH CRC mismatch: the frame carries 0x{received:04X}, computed 0x{computed:04X} over {raw[:-2].hex(' ')}"
        )
        self.received = received
        self.computed = computed


class UnknownControlByte(AshFrameError):
    pass


class BadLength(AshFrameError):
    pass


@dataclass(frozen=True, slots=True)
class DataFrame:
    """§2: control `0 frmNum(3) reTx ackNum(3)`; `payload` is the EZSP frame before randomisation."""

    frm_num: int
    re_tx: bool
    ack_num: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class AckFrame:
    """§2: control `100 res nRdy ackNum(3)`; no data field. `res` may be 0 or 1: ignored on parse, sent as 0."""

    ack_num: int
    n_rdy: bool = False


@dataclass(frozen=True, slots=True)
class NakFrame:
    """§2: control `101 res nRdy ackNum(3)`; no data field."""

    ack_num: int
    n_rdy: bool = False


@dataclass(frozen=True, slots=True)
class RstFrame:
    """§3: control 0xC0, no data field (host → NCP)."""


@dataclass(frozen=True, slots=True)
class RStackFrame:
    """§3: control 0xC1, data field version + reset code (NCP → host)."""

    version: int
    code: int


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """§3: control 0xC2, data field version + error code (NCP → host, then FAILED)."""

    version: int
    code: int


Frame = DataFrame | AckFrame | NakFrame | RstFrame | RStackFrame | ErrorFrame


# ---- CRC ---------------------------------------------------------------------------------------------------


def crc(data: bytes) -> int:
    """§2 "CRC": CRC-CCITT (x^16+x^12+x^5+1), initialised to 0xFFFF, over control byte + data field.

    binascii.crc_hqx is exactly that (no reflection, no final XOR), in C.
    """
    return binascii.crc_hqx(data, 0xFFFF)


# ---- data randomisation --------------------------------------------------------------------------------------


def _lfsr_period() -> bytes:
    # §4 "Data Randomization": seed 0x42; next = rand >> 1 if bit 0 is clear, else (rand >> 1) ^ 0xB8.
    out = bytearray()
    rand = 0x42
    while True:
        out.append(rand)
        rand = (rand >> 1) ^ 0xB8 if rand & 1 else rand >> 1
        if rand == 0x42:
            return bytes(out)  # the sequence repeats from here (period 255)


_PERIOD = _lfsr_period()
# The sequence as one big-endian integer per length: XOR of a whole data field is then one int operation.
_MASKS = [int.from_bytes((_PERIOD * 2)[:n], "big") for n in range(2 * len(_PERIOD) + 1)]


def _mask(length: int) -> int:
    if length < len(_MASKS):
        return _MASKS[length]
    repeats = length // len(_PERIOD) + 1
    return int.from_bytes((_PERIOD * repeats)[:length], "big")  # longer than any EZSP frame; not cached


def randomise(data: bytes) -> bytes:
    """XOR a DATA frame's data field with the §4 pseudo-random sequence; applying it twice restores the input."""
    length = len(data)
    return (int.from_bytes(data, "big") ^ _mask(length)).to_bytes(length, "big")


# ---- byte stuffing -------------------------------------------------------------------------------------------

# §4: a reserved byte inside a frame goes out as ESCAPE, byte ^ 0x20. bytes.replace runs in C; ESCAPE is replaced
# first so that the escapes the other replacements insert are not escaped again.
_STUFF = [(bytes([b]), bytes([ESCAPE, b ^ _FLIP])) for b in (ESCAPE, FLAG, XON, XOFF, SUBSTITUTE, CANCEL)]
# Unstuffing undoes the pairs, ESCAPE's own pair last: its output (0x7D) would otherwise start a new pair. A pair's
# second byte is never 0x7D and no other pair's output is, so the passes cannot mis-pair.
_UNSTUFF = [(escaped, plain) for plain, escaped in reversed(_STUFF)]
_ESCAPE_BYTE = bytes([ESCAPE])
FLAG_BYTE = bytes([FLAG])


def stuff(data: bytes) -> bytes:
    """Escape every reserved byte (§4 "Reserved Bytes and Byte Stuffing")."""
    for plain, escaped in _STUFF:
        data = data.replace(plain, escaped)
    return data


def unstuff(data: bytes) -> bytes:
    """Undo `stuff` on the bytes between two flags.

    §4 (Reserved Bytes table, Escape): "If the byte after the Escape Byte is not a reserved byte, bit 5 of the byte
    is complemented to restore its original value. If the byte after the Escape Byte is a reserved value, the Escape
    Byte has no effect." So this never fails: a frame mangled here fails its CRC in `parse`.
    """
    escapes = data.count(ESCAPE)
    if not escapes:
        return data
    out = data
    for escaped, plain in _UNSTUFF:
        out = out.replace(escaped, plain)
    if len(data) - len(out) == escapes:
        return out  # every escape was one of the six pairs `stuff` writes: each shrank the frame by one byte
    return _unstuff_any(data)


def _unstuff_any(data: bytes) -> bytes:
    # An escape before a non-reserved byte other than the six, before another reserved byte, or at the end.
    head, *parts = data.split(_ESCAPE_BYTE)
    out = bytearray(head)
    for part in parts:
        if part:  # empty: this escape came before another escape (or ended the frame) and has no effect
            out.append(part[0] if part[0] in RESERVED else part[0] ^ _FLIP)
            out += part[1:]
    return bytes(out)


# ---- frames --------------------------------------------------------------------------------------------------


def _bad_seq(frame: Frame) -> ValueError:
    return ValueError(f"ASH frame and ack numbers are 3 bits (0-7): {frame!r}")


def frame_bytes(frame: Frame) -> bytes:
    """The frame before stuffing: control byte, data field (randomised for DATA) and CRC, high byte first."""
    if type(frame) is DataFrame:
        if (frame.frm_num | frame.ack_num) & ~7:  # also catches negative numbers
            raise _bad_seq(frame)
        body = bytes([frame.frm_num << 4 | frame.re_tx << 3 | frame.ack_num]) + randomise(frame.payload)
    elif type(frame) is AckFrame or type(frame) is NakFrame:
        if frame.ack_num & ~7:
            raise _bad_seq(frame)
        body = bytes([(_ACK if type(frame) is AckFrame else _NAK) | frame.n_rdy << 3 | frame.ack_num])
    elif type(frame) is RstFrame:
        body = bytes([_RST])
    elif type(frame) is RStackFrame or type(frame) is ErrorFrame:
        body = bytes([_RSTACK if type(frame) is RStackFrame else _ERROR, frame.version, frame.code])
    else:
        raise TypeError(f"not an ASH frame: {frame!r}")
    return body + crc(body).to_bytes(2, "big")


def encode(frame: Frame) -> bytes:
    """The frame as it goes on the wire: stuffed, then the Flag byte (§4 "Sending Frames" steps 1-5)."""
    return wire(frame_bytes(frame))


def wire(raw: bytes) -> bytes:
    """Unstuffed frame bytes (control, data field, CRC) as they go on the wire: stuffed, then the Flag byte."""
    return stuff(raw) + FLAG_BYTE


def _data_length_must_be(raw: bytes, name: str, length: int) -> None:
    if len(raw) - 3 != length:
        raise BadLength(
            f"ASH {name} frame has a {len(raw) - 3}-byte data field, UG101 §2 says {length}: {raw.hex(' ')}"
        )


def _parse(raw: bytes) -> Frame:
    if len(raw) < 3:
        raise FrameTooShort(
            f"ASH frame too short: {len(raw)} bytes, less than a control byte and a 2-byte CRC: {raw.hex(' ')}"
        )
    computed = crc(raw[:-2])
    received = int.from_bytes(raw[-2:], "big")
    if computed != received:
        raise CrcMismatch(received, computed, raw)
    control = raw[0]
    if control < 0x80:
        # UG101 §2 sizes a DATA field 3-128 bytes. Below 3 it cannot hold an EZSP frame (sequence, frame control,
        # frame id): a bad frame, which the link NAKs, rather than one it ACKs and then drops. Above 128 is let
        # through: later EmberZNet carries longer EZSP frames than UG101 was written for (how long is unsettled).
        if len(raw) - 3 < MIN_DATA_FIELD:
            raise BadLength(f"ASH DATA frame has a {len(raw) - 3}-byte data field, UG101 §2 says at least "
                            f"{MIN_DATA_FIELD}: {raw.hex(' ')}")
        return DataFrame(control >> 4, bool(control & 0x08), control & 0x07, randomise(raw[1:-2]))
    if control < 0xC0:  # ACK 0x80-0x9F, NAK 0xA0-0xBF
        name = "ACK" if control < _NAK else "NAK"
        _data_length_must_be(raw, name, 0)
        return (AckFrame if control < _NAK else NakFrame)(control & 0x07, bool(control & 0x08))
    if control == _RST:
        _data_length_must_be(raw, "RST", 0)
        return RstFrame()
    if control == _RSTACK or control == _ERROR:
        _data_length_must_be(raw, "RSTACK" if control == _RSTACK else "ERROR", 2)
        return (RStackFrame if control == _RSTACK else ErrorFrame)(raw[1], raw[2])
    raise UnknownControlByte(f"unknown ASH control byte 0x{control:02X} in {raw.hex(' ')}")


# Every valid 3-byte ACK, NAK and RST frame, parsed once: about half the host's frames are ACKs.
_SHORT_FRAMES: dict[bytes, Frame] = {}
for _control in [*range(_ACK, 0xC0), _RST]:
    _raw = bytes([_control]) + crc(bytes([_control])).to_bytes(2, "big")
    _SHORT_FRAMES[_raw] = _parse(_raw)
del _control, _raw


def parse(raw: bytes) -> Frame:
    """Parse one unstuffed frame (the bytes between two flags, after `unstuff`), checking length and CRC.

    Raises FrameTooShort, CrcMismatch (naming both CRCs), BadLength or UnknownControlByte, all AshFrameError.
    """
    frame = _SHORT_FRAMES.get(raw) if type(raw) is bytes else None
    return frame if frame is not None else _parse(raw)
