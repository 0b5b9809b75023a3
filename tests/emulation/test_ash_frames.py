"""Our ASH codec (harness/emulation/ncp/ash_frames.py) against UG101's examples and, as an independent oracle,
bellows' own frame classes, CRC, randomisation and stuffing (used here only, never by the emulator).

UG101 examples (docs.silabs.com "UART Gateway Protocol Reference", Frame Formats; also zigbee-herdsman's ASH test
constants, taken from gecko_sdk 4.4.0): RST C0 38 BC 7E; RSTACK(2, 2) C1 02 02 9B 7B 7E; ACK(1)+ 81 60 59 7E;
ACK(6)- 8E 91 B6 7E; NAK(6)+ A6 34 DC 7E; NAK(5)- AD 85 B7 7E; DATA(2, 5, 0) "version" 25 42 21 A8 56 A6 09 7E.
Two of UG101's examples print a wrong CRC (see test_ug101_examples_with_a_misprinted_crc).
"""

from __future__ import annotations

import random

import bellows.ash as b
import bellows.types as t
import pytest

from harness.emulation.ncp import ash_frames as af
from harness.emulation.ncp.ash import NcpAsh

RESERVED = (0x7E, 0x7D, 0x11, 0x13, 0x18, 0x1A)


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def wire_to_frame(wire: bytes) -> af.Frame:
    assert wire[-1] == 0x7E and 0x7E not in wire[:-1]
    return af.parse(af.unstuff(wire[:-1]))


def bellows_wire(frame: b.AshFrame) -> bytes:
    return bytes(b.AshProtocol._stuff_bytes(frame.to_bytes())) + b"\x7e"


def bellows_parse(wire: bytes) -> b.AshFrame:
    return b.parse_frame(bytes(b.AshProtocol._unstuff_bytes(wire[:-1])))


# ---- UG101 vectors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (af.RstFrame(), "c0 38 bc 7e"),
        (af.RStackFrame(version=2, code=0x02), "c1 02 02 9b 7b 7e"),  # RESET_POWER_ON
        (af.AckFrame(ack_num=1), "81 60 59 7e"),
        (af.AckFrame(ack_num=6, n_rdy=True), "8e 91 b6 7e"),
        (af.NakFrame(ack_num=6), "a6 34 dc 7e"),
        (af.NakFrame(ack_num=5, n_rdy=True), "ad 85 b7 7e"),
        (af.DataFrame(frm_num=2, re_tx=False, ack_num=5, payload=h("00000002")), "25 42 21 a8 56 a6 09 7e"),
        # research/ezsp.md 1.2 and test_ash.py's capture of bellows 1.2.1 with a v13 NCP:
        (af.RStackFrame(version=2, code=0x0B), "c1 02 0b 0a 52 7e"),  # RESET_SOFTWARE
        (af.ErrorFrame(version=2, code=0x51), "c2 02 51 a8 bd 7e"),  # ACK timeouts (herdsman's vector)
        (af.DataFrame(0, False, 0, h("00000004")), "00 42 21 a8 50 ed 2c 7e"),  # version(4), legacy header
        # version(13), v8+ header: the control byte 0x11 (XON) is itself stuffed, and so is 0x18 in the data
        (af.DataFrame(1, False, 1, h("0000010000 0d")), "7d 31 42 21 a9 54 2a 7d 38 dc 7a 7e"),
    ],
)
def test_documented_frames_encode_and_parse(frame, wire):
    assert af.encode(frame) == h(wire)
    assert wire_to_frame(h(wire)) == frame


def test_the_ncp_sees_rst_after_the_cancel_byte_and_answers_rstack():
    """The host sends CAN then RST (1A C0 38 BC 7E): the CAN voids line noise, the frame is C0 38 BC."""
    assert af.parse(h("c0 38 bc")) == af.RstFrame()
    written: list[bytes] = []
    ash = NcpAsh(lambda _: None, lambda: None)
    ash.attach(written.append)
    ash.data_received(h("1a c0 38 bc 7e"))
    assert [wire_to_frame(w) for w in written] == [af.RStackFrame(version=2, code=t.NcpResetCode.RESET_SOFTWARE)]


def test_crc_of_ug101_frames_printed_without_randomisation():
    """UG101 also prints DATA frames with the data field not randomised; their CRCs pin the CRC alone."""
    assert af.crc(h("25 00 00 00 02")) == 0x1AAD  # DATA(2, 5, 0) = 25 00 00 00 02 1A AD 7E
    assert af.crc(h("53 00 80 00 02 02 11 30")) == 0x6316  # DATA(5, 3, 0) = 53 00 80 00 02 02 11 30 63 16 7E
    assert af.crc(h("c0")) == 0x38BC


def test_ug101_examples_with_a_misprinted_crc():
    """UG101's randomised DATA(5, 3, 0) and its ERROR(1, 0x52) print CRCs that do not match their bytes.

    The randomised data field itself is right, and zigbee-herdsman's tests also note the ERROR example's bad CRC, so
    the codec must reject both as printed (naming both CRCs) and accept them with the computed CRC.
    """
    response = af.DataFrame(frm_num=5, re_tx=False, ack_num=3, payload=h("00 80 00 02 02 11 30"))
    assert af.encode(response)[:8] == h("53 42 a1 a8 56 28 04 82")  # as printed, up to the CRC
    with pytest.raises(af.CrcMismatch, match="0x9623.*0x032A") as printed:
        af.parse(h("53 42 a1 a8 56 28 04 82 96 23"))
    assert (printed.value.received, printed.value.computed) == (0x9623, 0x032A)
    assert af.parse(h("53 42 a1 a8 56 28 04 82 03 2a")) == response

    with pytest.raises(af.CrcMismatch, match="0xFABD.*0xCD8D"):
        af.parse(h("c2 01 52 fa bd"))
    assert af.parse(h("c2 01 52 cd 8d")) == af.ErrorFrame(version=1, code=0x52)


# ---- randomisation -------------------------------------------------------------------------------------------


def lfsr(length: int) -> bytes:
    """UG101 §4 Data Randomization, step by step: seed 0x42; rand >>= 1, XOR 0xB8 when the low bit was set."""
    out, rand = bytearray(), 0x42
    for _ in range(length):
        out.append(rand)
        rand = (rand >> 1) ^ 0xB8 if rand & 1 else rand >> 1
    return bytes(out)


@pytest.mark.parametrize("length", [0, 1, 4, 40, 220, 254, 255, 256, 510, 511, 1000])
def test_randomisation_is_the_lfsr_sequence_at_any_length(length):
    assert lfsr(8) == h("42 21 a8 54 2a 15 b2 59")
    assert af.randomise(bytes(length)) == lfsr(length)
    payload = random.Random(length).randbytes(length)
    assert af.randomise(payload) == bytes(x ^ y for x, y in zip(payload, lfsr(length), strict=True))
    assert af.randomise(af.randomise(payload)) == payload


def test_randomisation_matches_bellows_sequence():
    assert af.randomise(bytes(256)) == bytes(b.PSEUDO_RANDOM_DATA_SEQUENCE)


# ---- byte stuffing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("byte", range(256))
def test_every_byte_value_is_stuffed_only_if_reserved(byte):
    stuffed = af.stuff(bytes([0x55, byte, 0x55]))
    if byte in RESERVED:
        assert stuffed == bytes([0x55, 0x7D, byte ^ 0x20, 0x55])
    else:
        assert stuffed == bytes([0x55, byte, 0x55])
    assert af.unstuff(stuffed) == bytes([0x55, byte, 0x55])


def test_stuffing_escapes_escapes_first():
    assert af.stuff(h("7d 7e 7d")) == h("7d 5d 7d 5e 7d 5d")
    assert af.unstuff(h("7d 5d 7d 5e 7d 5d")) == h("7d 7e 7d")
    assert af.unstuff(h("7d 5d 5e")) == h("7d 5e")  # an escaped 0x7D followed by a plain 0x5E, not 0x7E
    reserved_run = bytes(RESERVED) * 3
    assert af.unstuff(af.stuff(reserved_run)) == reserved_run
    assert not set(af.stuff(reserved_run)) & (set(RESERVED) - {0x7D})


def test_unstuffing_follows_ug101_for_escapes_stuff_never_writes():
    """UG101 §4: an escape before a non-reserved byte flips its bit 5; before a reserved byte it has no effect."""
    assert af.unstuff(h("01 7d 41 02")) == h("01 61 02")  # bellows raises here; UG101 decodes it
    assert af.unstuff(h("01 7d 7d 5e")) == h("01 7e")  # the first escape is void, the second escapes 0x5E
    assert af.unstuff(h("01 02 7d")) == h("01 02")  # an escape just before the flag
    assert af.unstuff(h("7d 11 5e")) == h("11 5e")  # before XON (reserved): no effect
    assert af.unstuff(h("7d 5d 5e 7d 41")) == h("7d 5e 61")  # a stuffed 0x7D then 0x5E, and an odd escape


def test_random_frames_unstuff_back():
    rng = random.Random(1)
    for _ in range(2000):
        data = bytes(rng.choice((*RESERVED, rng.randrange(256))) for _ in range(rng.randrange(60)))
        stuffed = af.stuff(data)
        assert not set(stuffed) & {0x7E, 0x11, 0x13, 0x18, 0x1A}
        assert af.unstuff(stuffed) == data


# ---- errors --------------------------------------------------------------------------------------------------


def test_bad_crc_is_rejected_naming_both_crcs():
    with pytest.raises(af.CrcMismatch, match=r"carries 0x38BD, computed 0x38BC") as caught:
        af.parse(h("c0 38 bd"))
    assert isinstance(caught.value, af.AshFrameError)
    data = af.frame_bytes(af.DataFrame(3, False, 4, b"\x01\x02\x03"))
    for index in range(len(data)):  # a flipped bit anywhere is caught
        corrupt = bytearray(data)
        corrupt[index] ^= 0x04
        with pytest.raises(af.CrcMismatch):
            af.parse(bytes(corrupt))


@pytest.mark.parametrize("raw", ["", "c0", "c0 38", "81 60"])
def test_truncated_frames_are_rejected(raw):
    with pytest.raises(af.FrameTooShort, match=f"too short: {len(h(raw))} bytes"):
        af.parse(h(raw))


def test_a_frame_cut_short_fails_its_crc():
    data = af.frame_bytes(af.DataFrame(1, False, 2, h("0001020304")))
    for end in range(3, len(data)):
        with pytest.raises(af.CrcMismatch):
            af.parse(data[:end])


@pytest.mark.parametrize("control", range(0xC3, 0x100))
def test_unknown_control_bytes_are_rejected(control):
    raw = bytes([control, 0x02, 0x00])
    raw += af.crc(raw).to_bytes(2, "big")
    with pytest.raises(af.UnknownControlByte, match=f"0x{control:02X}"):
        af.parse(raw)


@pytest.mark.parametrize(
    ("body", "name"),
    [("81 00", "ACK"), ("a1 00", "NAK"), ("c0 00", "RST"), ("c1 02", "RSTACK"), ("c2 02 51 00", "ERROR")],
)
def test_wrong_data_field_length_is_rejected(body, name):
    raw = h(body) + af.crc(h(body)).to_bytes(2, "big")
    with pytest.raises(af.BadLength, match=f"ASH {name} frame"):
        af.parse(raw)


def test_out_of_range_numbers_are_not_encoded():
    for frame in (af.DataFrame(8, False, 0, b"x"), af.DataFrame(0, False, -1, b"x"), af.AckFrame(8), af.NakFrame(9)):
        with pytest.raises(ValueError, match="3 bits"):
            af.encode(frame)


# ---- bellows as an independent oracle ------------------------------------------------------------------------


def random_payloads(rng: random.Random):
    """Lengths 0..220, each payload seeded with reserved bytes, plus one holding every reserved value twice."""
    yield bytes(RESERVED) * 2
    for length in range(221):
        for _ in range(3):
            payload = bytearray(rng.randbytes(length))
            for _ in range(min(length, 4)):
                payload[rng.randrange(length)] = rng.choice(RESERVED)
            yield bytes(payload)


def test_data_frames_match_bellows_both_ways():
    rng = random.Random(2024)
    reserved_seen: set[int] = set()
    count = 0
    for payload in random_payloads(rng):
        frm, ack, re_tx = rng.randrange(8), rng.randrange(8), rng.random() < 0.5
        ours = af.DataFrame(frm_num=frm, re_tx=re_tx, ack_num=ack, payload=payload)
        theirs = b.DataFrame(frm_num=frm, re_tx=re_tx, ack_num=ack, ezsp_frame=payload)
        wire = af.encode(ours)
        assert wire == bellows_wire(theirs)
        if len(payload) < af.MIN_DATA_FIELD:  # no EZSP frame fits: a bad frame to the NCP
            with pytest.raises(af.BadLength, match="at least 3"):
                wire_to_frame(bellows_wire(theirs))
        else:
            assert wire_to_frame(bellows_wire(theirs)) == ours
        parsed = bellows_parse(wire)
        assert (parsed.frm_num, bool(parsed.re_tx), parsed.ack_num, parsed.ezsp_frame) == (frm, re_tx, ack, payload)
        reserved_seen |= set(wire[:-1]) & set(RESERVED)
        count += 1
    assert count == 1 + 221 * 3
    assert reserved_seen == {0x7D}  # the only reserved byte left on the wire is the escape


@pytest.mark.parametrize("n_rdy", [False, True])
@pytest.mark.parametrize("ack_num", range(8))
def test_ack_and_nak_match_bellows(ack_num, n_rdy):
    for ours, theirs in [
        (af.AckFrame(ack_num, n_rdy), b.AckFrame(res=0, ncp_ready=n_rdy, ack_num=ack_num)),
        (af.NakFrame(ack_num, n_rdy), b.NakFrame(res=0, ncp_ready=n_rdy, ack_num=ack_num)),
    ]:
        assert af.encode(ours) == bellows_wire(theirs)
        parsed = bellows_parse(af.encode(ours))
        assert type(parsed) is type(theirs) and (parsed.ack_num, bool(parsed.ncp_ready)) == (ack_num, n_rdy)
        # UG101 §2: the res bit "may be either 0 or 1"; bellows can set it, we read past it.
        with_res = type(theirs)(res=1, ncp_ready=n_rdy, ack_num=ack_num)
        assert wire_to_frame(bellows_wire(with_res)) == ours


def test_rst_matches_bellows():
    assert af.encode(af.RstFrame()) == bellows_wire(b.RstFrame())
    assert wire_to_frame(bellows_wire(b.RstFrame())) == af.RstFrame()


@pytest.mark.parametrize("code", list(t.NcpResetCode))
def test_rstack_and_error_match_bellows(code):
    for ours, theirs in [
        (af.RStackFrame(version=2, code=code), b.RStackFrame(version=2, reset_code=code)),
        (af.ErrorFrame(version=2, code=code), b.ErrorFrame(version=2, reset_code=code)),
    ]:
        assert af.encode(ours) == bellows_wire(theirs)
        assert wire_to_frame(bellows_wire(theirs)) == ours
        assert bellows_parse(af.encode(ours)) == theirs


# ---- round trip ----------------------------------------------------------------------------------------------


def test_every_frame_type_round_trips():
    rng = random.Random(7)
    frames: list[af.Frame] = [af.RstFrame()]
    frames += [af.AckFrame(a, n) for a in range(8) for n in (False, True)]
    frames += [af.NakFrame(a, n) for a in range(8) for n in (False, True)]
    frames += [af.RStackFrame(v, c) for v in (1, 2) for c in range(256)]
    frames += [af.ErrorFrame(v, c) for v in (1, 2) for c in range(256)]
    frames += [af.DataFrame(rng.randrange(8), rng.random() < 0.5, rng.randrange(8), p) for p in random_payloads(rng)]
    frames = [f for f in frames if not (isinstance(f, af.DataFrame) and len(f.payload) < af.MIN_DATA_FIELD)]
    for frame in frames:
        assert wire_to_frame(af.encode(frame)) == frame
        assert af.parse(af.frame_bytes(frame)) == frame
    assert af.AckFrame(1) != af.NakFrame(1)  # distinct types never compare equal


def test_parse_accepts_a_bytearray():
    raw = bytearray(af.frame_bytes(af.AckFrame(3)))
    assert af.parse(raw) == af.AckFrame(3)
    assert af.parse(bytearray(af.frame_bytes(af.DataFrame(1, True, 2, b"abc")))) == af.DataFrame(1, True, 2, b"abc")
