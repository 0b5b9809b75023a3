"""The emulated NCP's ASH layer against golden bytes and bellows' own frame codec.

Golden vectors: research/ezsp.md 2.2, a raw capture of bellows 1.2.1 talking to an EZSP v13 NCP, whose RST,
RSTACK and version(4) bytes match a real EFR32 (bellows#193) and zigbee-herdsman's ASH test vectors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import bellows.types as t
import pytest
from bellows.ash import AckFrame, AshProtocol, DataFrame, NakFrame, RStackFrame, Reserved, parse_frame
from bellows.ezsp.v13 import EZSPv13
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.emulation.ncp.ash import NcpAsh
from harness.emulation.ncp.ncp import EmulatedNcp

pytestmark = pytest.mark.timeout(30)

RST = bytes.fromhex("1a" * 32 + "c038bc7e")
RSTACK_SOFTWARE = bytes.fromhex("c1020b0a527e")


def wire(hex_text: str) -> bytes:
    return bytes.fromhex(hex_text.replace(" ", ""))


class Wire:
    """Collects what the NCP writes, one write per frame."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.writes.append(data)

    def take(self) -> list[bytes]:
        out, self.writes = self.writes, []
        return out


def host_data(frm: int, ack: int, ezsp: bytes, *, re_tx: bool = False, corrupt: bool = False) -> bytes:
    """A host DATA frame built with bellows' own frame class and stuffing."""
    raw = DataFrame(frm_num=frm, re_tx=re_tx, ack_num=ack, ezsp_frame=ezsp).to_bytes()
    if corrupt:
        raw = raw[:-1] + bytes([raw[-1] ^ 0x01])
    return bytes(AshProtocol._stuff_bytes(raw)) + bytes([Reserved.FLAG])


def decode(frame_bytes: bytes):
    assert frame_bytes.endswith(bytes([Reserved.FLAG]))
    return parse_frame(AshProtocol._unstuff_bytes(frame_bytes[:-1]))


def make_ncp(version: int = 13, **options) -> tuple[EmulatedNcp, Wire]:
    ncp = EmulatedNcp(version, eui64="00:0d:6f:00:00:00:00:01", **options)
    out = Wire()
    ncp.ash.attach(out)
    return ncp, out


def test_rst_is_answered_with_the_golden_rstack():
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    assert out.take() == [RSTACK_SOFTWARE]


def test_version_exchange_bytes_with_each_ack_in_the_response():
    """bellows connects to a v13 NCP: legacy version(4), then version(13) in the v8+ header, then XNCP probe.

    As an EmberZNet NCP does, each response goes out at once and its ackNum acknowledges the command: no ACK frame
    (UG101 T_TX_ACK_DELAY; a real stick's herdsman log: `---> [FRAME type=DATA frmTx=0 frmRx=0]` for VERSION, then
    `<--- [FRAME type=DATA ackNum=1]`, Nerivec/silabs-firmware-builder#118).
    """
    ncp, out = make_ncp(13)
    ncp.ash.data_received(RST)
    out.take()

    ncp.ash.data_received(wire("00 42 21 a8 50 ed 2c 7e"))  # version(4), legacy header
    assert out.take() == [wire("01 42 a1 a8 59 28 15 c6 ab 04 7e")]  # DATA f0 a1: v13/stack 2/0x7400
    ncp.ash.data_received(wire("81 60 59 7e"))  # host ACKs our frame 0

    ncp.ash.data_received(wire("7d 31 42 21 a9 54 2a 7d 38 dc 7a 7e"))  # version(13), v8+ header
    assert out.take() == [wire("12 42 a1 a9 54 2a 7d 38 b0 59 e0 0c df 7e")]  # DATA f1 a2
    ncp.ash.data_received(wire("82 50 3a 7e"))

    ncp.ash.data_received(wire("22 43 21 a9 7d 33 2a 16 b2 59 94 e7 9e 7e"))  # customFrame(XNCP features)
    assert out.take() == [wire("23 43 a1 a9 7d 33 2a 65 b2 7d 33 e7 7e")]  # DATA f2 a3: INVALID_CALL
    assert ncp.ash.counters.data_in == 3 and ncp.ash.counters.data_out == 3


def test_with_no_ack_delay_every_data_frame_gets_an_ack_frame_first():
    """`ash_ack_delay=0`: an ACK frame for each DATA frame before the response (research/ezsp.md 2.2's capture)."""
    ncp, out = make_ncp(13, ash_ack_delay=0)
    ncp.ash.data_received(RST)
    out.take()
    ncp.ash.data_received(wire("00 42 21 a8 50 ed 2c 7e"))  # version(4)
    assert out.take() == [wire("81 60 59 7e"), wire("01 42 a1 a8 59 28 15 c6 ab 04 7e")]  # ACK a1, then DATA
    ncp.ash.data_received(wire("81 60 59 7e"))
    ncp.ash.data_received(wire("7d 31 42 21 a9 54 2a 7d 38 dc 7a 7e"))  # version(13)
    assert out.take() == [wire("82 50 3a 7e"), wire("12 42 a1 a9 54 2a 7d 38 b0 59 e0 0c df 7e")]


def test_a_negative_ack_delay_is_refused():
    with pytest.raises(ValueError, match="ack_delay -0.1 is negative"):
        NcpAsh(lambda _: None, lambda: None, ack_delay=-0.1)


def test_nothing_is_written_before_the_first_rst():
    ncp, out = make_ncp()
    ncp.ash.data_received(host_data(0, 0, bytes.fromhex("00000004")))
    assert out.take() == []
    assert list(ncp.command_log) == []


def test_retransmitted_duplicate_is_acked_but_not_executed_twice():
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    out.take()
    version4 = bytes.fromhex("00000004")
    ncp.ash.data_received(host_data(0, 0, version4))
    (first,) = [decode(f) for f in out.take()]
    assert isinstance(first, DataFrame) and first.ack_num == 1  # the response acknowledges the command
    # The host missed that frame and retransmits with reTx=1: an ACK frame now, no second execution.
    ncp.ash.data_received(host_data(0, 0, version4, re_tx=True))
    again = [decode(f) for f in out.take()]
    assert again == [AckFrame(res=0, ncp_ready=0, ack_num=1)]
    assert [c.name for c in ncp.command_log] == ["version"]
    assert ncp.ash.counters.duplicates_acked == 1


def test_corrupt_host_frame_gets_one_nak_until_a_good_frame():
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    out.take()
    ncp.ash.data_received(host_data(0, 0, bytes.fromhex("00000004"), corrupt=True))
    ncp.ash.data_received(host_data(0, 0, bytes.fromhex("00000004"), corrupt=True))
    assert [decode(f) for f in out.take()] == [NakFrame(res=0, ncp_ready=0, ack_num=0)]  # reject condition: once
    ncp.ash.data_received(host_data(0, 0, bytes.fromhex("00000004"), re_tx=True))
    (frame,) = [decode(f) for f in out.take()]
    assert isinstance(frame, DataFrame) and frame.ack_num == 1  # executed once, acknowledged by its response


@pytest.mark.parametrize("ezsp", [b"", b"\x00", b"\x00\x00"])
def test_a_data_frame_too_short_for_an_ezsp_frame_gets_a_nak_not_an_ack(ezsp):
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    out.take()
    ncp.ash.data_received(host_data(0, 0, ezsp))
    assert [decode(f) for f in out.take()] == [NakFrame(res=0, ncp_ready=0, ack_num=0)]
    assert ncp.ash.counters.bad_frames == 1 and ncp.ash.counters.data_in == 0


def test_out_of_sequence_frame_without_retx_is_rejected():
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    out.take()
    ncp.ash.data_received(host_data(3, 0, bytes.fromhex("00000004")))
    assert [decode(f) for f in out.take()] == [NakFrame(res=0, ncp_ready=0, ack_num=0)]
    assert list(ncp.command_log) == []


def test_nak_from_host_makes_the_ncp_retransmit_with_retx():
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    out.take()
    ncp.ash.data_received(host_data(0, 0, bytes.fromhex("00000004")))
    (data,) = map(decode, out.take())
    assert isinstance(data, DataFrame) and not data.re_tx
    ncp.ash.data_received(bytes(AshProtocol._stuff_bytes(NakFrame(res=0, ncp_ready=0, ack_num=0).to_bytes())) + b"\x7e")
    again = decode(out.take()[0])
    assert again == data.replace(re_tx=True)


def test_unsolicited_rstack_and_error_frames():
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    out.take()
    ncp.ash.send_unsolicited_rstack()
    assert decode(out.take()[0]) == RStackFrame(version=2, reset_code=0x02)  # RESET_POWER_ON
    ncp.ash.send_error()
    assert out.take() == [wire("c2 02 51 a8 bd 7e")]  # ERROR, ACK-timeout code (herdsman's vector)
    ncp.ash.data_received(host_data(0, 0, bytes.fromhex("00000004")))
    assert out.take() == []  # FAILED: only RST is heard


# UG101 (ASH protocol) RSTACK/ERROR: control byte 0xC1 / 0xC2, ASH version 2, one reset/error code byte, CRC.
# Codes (UG101 table "Reset and Error Codes"): 0x00 unknown, 0x01 external, 0x02 power-on, 0x03 watchdog,
# 0x06 assert, 0x09 bootloader, 0x0B software; ERROR 0x51 exceeded maximum ACK timeout count.
RESET_CODES = [(0x00, "RESET_UNKNOWN_REASON"), (0x01, "RESET_EXTERNAL"), (0x02, "RESET_POWER_ON"),
               (0x03, "RESET_WATCHDOG"), (0x06, "RESET_ASSERT"), (0x09, "RESET_BOOTLOADER"),
               (0x0B, "RESET_SOFTWARE")]  # fmt: skip


@pytest.mark.parametrize(("code", "name"), RESET_CODES)
def test_rstack_carries_the_documented_reset_code(code, name):
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    out.take()
    ncp.ash.send_unsolicited_rstack(t.NcpResetCode[name])
    (frame,) = out.take()
    # 0xC1 0x02 code are never reserved bytes; the CRC after them may be stuffed.
    assert frame[:3] == bytes([0xC1, 0x02, code]) and frame[-1] == 0x7E
    assert decode(frame) == RStackFrame(version=2, reset_code=t.NcpResetCode[name])


def test_error_frame_is_control_c2_version_2_and_the_ack_timeout_code():
    ncp, out = make_ncp()
    ncp.ash.data_received(RST)
    out.take()
    ncp.ash.send_error()
    (frame,) = out.take()
    assert frame[:3] == bytes([0xC2, 0x02, 0x51]) and frame[-1] == 0x7E and len(frame) == 6
    ncp.ash.data_received(RST)  # only RST recovers: the answer is RSTACK(RESET_SOFTWARE)
    assert out.take() == [RSTACK_SOFTWARE]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=3, max_size=200), st.integers(0, 7), st.integers(0, 7))
def test_host_frames_round_trip_through_stuffing_and_randomisation(payload, frm, ack):
    received: list[bytes] = []
    ash = NcpAsh(received.append, lambda: None)
    ash.attach(lambda _: None)
    ash.data_received(RST)
    ash._rx_seq = frm  # accept this frame number as in-sequence
    ash.data_received(host_data(frm, ack, payload))
    assert received == [payload]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_ncp_frames_are_stuffed_and_decode_with_bellows(payload):
    out = Wire()
    ash = NcpAsh(lambda _: None, lambda: None)
    ash.attach(out)
    ash.data_received(RST)
    out.take()
    ash.send(payload)
    (frame_bytes,) = out.take()
    body = frame_bytes[:-1]
    assert not any(b in (0x7E, 0x11, 0x13, 0x18, 0x1A) for b in body)  # no raw reserved byte on the wire
    frame = decode(frame_bytes)
    assert isinstance(frame, DataFrame) and frame.ezsp_frame == payload


class Host:
    """Plays bellows' part at frame level: EZSP frames from bellows' own v13 handler, ASH from bellows' classes."""

    def __init__(self, ncp: EmulatedNcp, out: Wire) -> None:
        self.ncp, self.out = ncp, out
        self.proto = EZSPv13(lambda *_: None, None)
        self.frm = 0
        self.rx = 0
        ncp.ash.data_received(RST)
        out.take()
        self.command("version", desiredProtocolVersion=ncp.version)  # nothing else is accepted before it

    def command(self, name: str, **params) -> list[tuple[int, int, str, list]]:
        """Send one command; return the NCP's DATA frames as (seq, frame control, name, fields), ACKing each."""
        return self.raw(self.proto._ezsp_frame(name, **params))

    def raw(self, ezsp: bytes) -> list[tuple[int, int, str, list]]:
        self.proto._seq = (self.proto._seq + 1) % 256
        self.ncp.ash.data_received(host_data(self.frm, self.rx, ezsp))
        self.frm = (self.frm + 1) % 8
        frames = []
        while True:
            data = [f for f in map(decode, self.out.take()) if isinstance(f, DataFrame)]
            if not data:
                return frames
            for frame in data:
                self.rx = (frame.frm_num + 1) % 8
                seq, frame_id, body = self.proto._ezsp_frame_rx(frame.ezsp_frame)
                name, _, schema = self.proto.COMMANDS_BY_ID[frame_id]
                fields, _ = t.deserialize_dict(body, schema)
                frames.append((seq, frame.ezsp_frame[1], name, list(fields.values())))
                self.ncp.ash.data_received(bytes(AshProtocol._stuff_bytes(AckFrame(res=0, ncp_ready=0, ack_num=self.rx).to_bytes())) + b"\x7e")


def test_callbacks_follow_the_response_with_its_sequence_number():
    """research/ezsp.md 8: a callback must never arrive between a command and its response, nor carry an awaited seq."""
    ncp, out = make_ncp(13)
    host = Host(ncp, out)
    host.command("setInitialSecurityState", state=t.EmberInitialSecurityState(
        bitmask=t.EmberInitialSecurityBitmask.HAVE_NETWORK_KEY, preconfiguredKey=t.KeyData(b"Z" * 16),
        networkKey=t.KeyData(b"N" * 16), networkKeySequenceNumber=0,
        preconfiguredTrustCenterEui64=t.EUI64.convert("00:00:00:00:00:00:00:00"),
    ))  # fmt: skip
    host.proto._seq = 0x40
    frames = host.command("formNetwork", parameters=t.EmberNetworkParameters(
        extendedPanId=t.ExtendedPanId.convert("11:22:33:44:55:66:77:88"), panId=0x1A62, radioTxPower=8,
        radioChannel=15, joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION, nwkManagerId=0, nwkUpdateId=0,
        channels=t.Channels.ALL_CHANNELS,
    ))  # fmt: skip
    assert [(name, fc & 0x90) for _, fc, name, _ in frames] == [("formNetwork", 0x80), ("stackStatusHandler", 0x90)]
    assert frames[0][0] == frames[1][0]  # the callback reuses the answered command's seq
    assert frames[0][3] == [t.EmberStatus.SUCCESS] and frames[1][3] == [t.EmberStatus.NETWORK_UP]
    assert ncp.nv.network_key == (b"N" * 16).hex()


def test_unknown_frame_id_gets_invalid_command():
    ncp, out = make_ncp(13)
    host = Host(ncp, out)
    frames = host.raw(bytes([0x07, 0x00, 0x01, 0xFF, 0x7F]))  # frame id 0x7FFF exists in no table
    assert frames == [(0x07, 0x80, "invalidCommand", [t.EzspStatus.ERROR_INVALID_FRAME_ID])]
    assert ncp.command_log[-1].name == "<unknown 0x7FFF>" and not ncp.command_log[-1].handled


def _host_ack(ack_num: int) -> bytes:
    return bytes(AshProtocol._stuff_bytes(AckFrame(res=0, ncp_ready=0, ack_num=ack_num).to_bytes())) + b"\x7e"


async def test_the_ack_timeout_runs_from_the_frame_it_retransmits_not_from_an_earlier_one():
    """UG101: the NCP retransmits a DATA frame T_RX_ACK after sending *that* frame. The NCP keeps one timer handle
    across frames and only moves its deadline, so a handle armed for an earlier frame must not fire early."""
    loop = asyncio.get_running_loop()
    ncp = EmulatedNcp(13, eui64="00:0d:6f:00:00:00:00:01")
    ncp.ash._t_rx_ack = 0.3
    sent: list[tuple[float, object]] = []
    ncp.ash.attach(lambda data: sent.append((loop.time(), decode(data))))
    ncp.ash.data_received(RST)
    ncp.ash.data_received(host_data(0, 0, bytes.fromhex("00000004")))  # version: the NCP answers with DATA frm 0
    await asyncio.sleep(0.2)
    ncp.ash.data_received(_host_ack(1))  # frame 0 acknowledged just before its deadline
    ncp.ash.data_received(host_data(1, 1, bytes.fromhex("01000004")))  # another version: DATA frm 1, never ACKed
    second_sent = loop.time()
    for _ in range(100):
        if ncp.ash.counters.retransmissions:
            break
        await asyncio.sleep(0.02)
    retransmitted = [(at, f) for at, f in sent if isinstance(f, DataFrame) and f.re_tx]
    assert retransmitted, "the unacknowledged frame was never retransmitted"
    at, frame = retransmitted[0]
    assert frame.frm_num == 1
    assert at - second_sent >= 0.3 - 0.01  # not at the 0.3 s deadline of frame 0's handle
    ncp.ash.data_received(_host_ack(2))
    count = ncp.ash.counters.retransmissions
    await asyncio.sleep(0.5)
    assert ncp.ash.counters.retransmissions == count  # acknowledged: the lingering handle does nothing


def _linked_ncp(sent: list[object] | Callable[[object], None]) -> EmulatedNcp:
    """An NCP with a 50 ms ACK delay, past RST and one acknowledged version exchange; what it writes, decoded, goes
    to `sent` (a list, or a callable given each frame)."""
    ncp = EmulatedNcp(13, eui64="00:0d:6f:00:00:00:00:01", ash_ack_delay=0.05)
    record = sent.append if isinstance(sent, list) else sent
    ncp.ash.attach(lambda data: record(decode(data)))
    ncp.ash.data_received(RST)
    ncp.ash.data_received(host_data(0, 0, bytes.fromhex("00000004")))
    ncp.ash.data_received(_host_ack(1))
    return ncp


async def test_an_ack_that_cannot_ride_in_a_response_goes_out_t_tx_ack_delay_later():
    """UG101 T_TX_ACK_DELAY: while our callback waits for the host's ACK (window 1) the command's response cannot go
    out, so the command is acknowledged by an ACK frame after the delay, and the response follows the host's ACK."""
    loop = asyncio.get_running_loop()
    sent: list[tuple[float, object]] = []
    ncp = _linked_ncp(lambda frame: sent.append((loop.time(), frame)))  # version answered in DATA frm 0, ackNum 1
    ncp.ash.send(bytes.fromhex("0090190090"))  # a callback: DATA frm 1, not yet acknowledged by the host
    sent.clear()
    received_at = loop.time()
    ncp.ash.data_received(host_data(1, 1, bytes.fromhex("01000004")))  # a command while frm 1 is outstanding
    assert sent == []  # no ACK frame yet, and the response waits behind frm 1
    await asyncio.sleep(0.1)
    ((at, ack),) = sent
    assert ack == AckFrame(res=0, ncp_ready=0, ack_num=2)
    assert 0.05 - 0.01 <= at - received_at < 0.5  # after the delay, not at once (the upper bound: a busy machine)
    ncp.ash.data_received(_host_ack(2))  # the host acknowledges the callback: the response goes out
    ((_, response),) = sent[1:]
    assert isinstance(response, DataFrame) and response.frm_num == 2 and response.ack_num == 2


async def test_a_response_sent_within_the_delay_carries_the_ack_and_no_ack_frame_follows():
    loop = asyncio.get_running_loop()
    sent: list[object] = []
    ncp = _linked_ncp(sent)
    ncp.ash.send(bytes.fromhex("0090190090"))  # callback DATA frm 1, outstanding
    ncp.ash.data_received(host_data(1, 1, bytes.fromhex("01000004")))  # acknowledgement owed
    loop.call_later(0.02, ncp.ash.data_received, _host_ack(2))  # the host ACKs the callback within the delay
    await asyncio.sleep(0.12)
    frames = sent[2:]  # after RSTACK and the first response
    assert [type(f) for f in frames] == [DataFrame, DataFrame]  # callback, then the response: no ACK frame
    assert frames[1].ack_num == 2


def test_a_frame_the_ezsp_layer_chokes_on_is_still_acknowledged():
    """Received is received: if executing the command raises, the acknowledgement still goes (here at once: no loop)."""
    def choke(_payload: bytes) -> None:
        raise RuntimeError("handler exploded")

    ash, out = NcpAsh(choke, lambda: None), Wire()
    ash.attach(out)
    ash.data_received(RST)
    out.take()
    with pytest.raises(RuntimeError, match="handler exploded"):
        ash.data_received(host_data(0, 0, bytes.fromhex("00000004")))
    assert [decode(f) for f in out.take()] == [AckFrame(res=0, ncp_ready=0, ack_num=1)]


async def test_an_owed_ack_is_sent_once_and_a_reset_or_a_duplicate_pays_it():
    sent: list[object] = []
    ncp = _linked_ncp(sent)
    ncp.ash.send(bytes.fromhex("0090190090"))  # our callback, outstanding: the next response must wait
    ncp.ash.data_received(host_data(1, 1, bytes.fromhex("01000004")))  # ACK owed for frame 1
    sent.clear()
    ncp.ash.data_received(host_data(1, 1, bytes.fromhex("01000004"), re_tx=True))  # the host retransmits it
    await asyncio.sleep(0.1)
    assert sent == [AckFrame(res=0, ncp_ready=0, ack_num=2)]  # the duplicate's ACK paid it: no second ACK later
    ncp.ash.data_received(_host_ack(2))
    sent.clear()
    ncp.ash.send(bytes.fromhex("0090190090"))  # another callback, outstanding
    ncp.ash.data_received(host_data(2, 3, bytes.fromhex("02000004")))  # ACK owed for frame 2
    ncp.ash.data_received(RST)  # the host resets before it is due: nothing is owed on the new link
    await asyncio.sleep(0.1)
    assert [type(f).__name__ for f in sent] == ["DataFrame", "RStackFrame"]


def test_an_owed_ack_timer_left_on_an_ended_loop_does_not_block_the_next():
    sent: list[object] = []
    ncp = _linked_ncp(sent)

    async def first() -> None:
        ncp.ash.send(bytes.fromhex("0090190090"))  # our callback, never acknowledged: responses stay queued
        ncp.ash.data_received(host_data(1, 1, bytes.fromhex("01000004")))  # ACK owed, its timer armed here

    asyncio.run(first())  # the loop ends before the timer fires
    sent.clear()

    async def second() -> None:
        ncp.ash.data_received(host_data(2, 1, bytes.fromhex("02000004")))  # still owed, and one more
        await asyncio.sleep(0.1)

    asyncio.run(second())
    assert AckFrame(res=0, ncp_ready=0, ack_num=3) in sent  # armed anew on this loop, and sent
