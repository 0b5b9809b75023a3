"""The NCP side of ASH (UG101), the framing bellows speaks to a Silicon Labs stick.

Frames, CRC, randomisation and byte stuffing come from `ash_frames`, our own codec written from UG101: the host's
bytes are parsed by code that is not the host's, so a framing bug on either side shows up as a disagreement
(tests/emulation/test_ash_frames.py checks the codec against UG101's examples and, as an independent oracle,
bellows). What bellows 1.2.1 expects of an NCP (research/ezsp.md 1.2, 8):

* nothing is written before the host's first RST; RST is answered with RSTACK (version 2, reset code);
* the NCP acknowledges every in-sequence DATA frame, ACKs a retransmitted duplicate (reTx=1) again *without*
  passing it up a second time, and NAKs an out-of-sequence or corrupt DATA frame once (reject condition);
* an acknowledgement rides in the ackNum of the NCP's next DATA frame (the response) when that frame goes out
  within T_TX_ACK_DELAY; only otherwise is an ACK frame sent (UG101, below);
* the NCP sends one DATA frame at a time (window 1) and retransmits it with reTx=1 on a NAK or ACK timeout.

Fault hooks let tests break the link the way real sticks do: drop an ACK, corrupt a CRC, go silent, reboot
(unsolicited RSTACK) or fail (ERROR frame).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import bellows.types as t

from harness.emulation.ncp.ash_frames import (
    ASH_VERSION,
    CANCEL,
    FLAG,
    SUBSTITUTE,
    XOFF,
    XON,
    AckFrame,
    AshFrameError,
    DataFrame,
    ErrorFrame,
    Frame,
    NakFrame,
    RStackFrame,
    RstFrame,
    encode,
    frame_bytes,
    parse,
    unstuff,
    wire,
)

LOGGER = logging.getLogger(__name__)

# How long the NCP waits for the host's ACK before retransmitting (UG101 T_RX_ACK_INIT) and how often it tries.
T_RX_ACK = 1.6
ACK_TIMEOUTS = 5
MAX_FRAME_BUFFER = 4096
# UG101 "Configuration Parameters", T_TX_ACK_DELAY: "delay before sending a non-piggybacked acknowledgement". An
# EmberZNet NCP answers most commands within it, so the host sees the response's DATA frame carry the ackNum and no
# ACK frame: zigbee-herdsman's debug log of a real stick shows `<--- [FRAME type=DATA ackNum=1]` straight after the
# host's VERSION DATA (Nerivec/silabs-firmware-builder#118), and libezsp#34 reports standalone ACKs as rare.
# 0 sends an ACK frame for every DATA frame at once, before executing it (what this emulator did before;
# docs/emulated-ncp.md).
T_TX_ACK_DELAY = 0.020


@dataclass
class AshCounters:
    """What happened on the link, for tests and evidence."""

    data_in: int = 0
    data_out: int = 0
    duplicates_acked: int = 0
    naks_sent: int = 0
    naks_received: int = 0
    retransmissions: int = 0
    bad_frames: int = 0
    resets: int = 0


class NcpAsh:
    """ASH, NCP side. Feed it the host's bytes with `data_received`; it writes through `write`.

    `on_frame(ezsp_frame)` gets each new EZSP frame once; `on_reset()` is called on every RST (and on an
    unsolicited reboot), after the RSTACK is written.
    """

    def __init__(
        self,
        on_frame: Callable[[bytes], None],
        on_reset: Callable[[], None],
        *,
        reset_code: t.NcpResetCode = t.NcpResetCode.RESET_SOFTWARE,
        t_rx_ack: float = T_RX_ACK,
        ack_delay: float = T_TX_ACK_DELAY,
    ) -> None:
        if ack_delay < 0:
            raise ValueError(f"ack_delay {ack_delay!r} is negative (seconds; 0 sends every ACK frame at once)")
        self._on_frame = on_frame
        self._on_reset = on_reset
        self._reset_code = reset_code
        self._t_rx_ack = t_rx_ack
        self._ack_delay = ack_delay
        self._write: Callable[[bytes], None] | None = None
        self._buffer = bytearray()
        self._discarding = False
        self.counters = AshCounters()
        # Link state
        self._started = False  # first RST seen: until then the NCP says nothing
        self._failed = False  # after an ERROR frame only RST is accepted
        self._tx_seq = 0
        self._rx_seq = 0
        self._rejecting = False
        self._tx_queue: deque[bytes] = deque()
        self._outstanding: DataFrame | None = None
        self._attempts = 0
        self._ack_timer: asyncio.TimerHandle | None = None
        self._ack_deadline: float | None = None  # loop time by which the host must ACK our outstanding frame
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the timer runs on, while it runs
        self._ack_owed = False  # an in-sequence DATA frame no frame of ours has acknowledged yet
        self._owed_ack_timer: asyncio.TimerHandle | None = None
        self._owed_ack_loop: asyncio.AbstractEventLoop | None = None
        # Fault hooks
        self._drop_acks = 0
        self._corrupt_data = 0
        self.silent = False
        self._held: list[bytes] | None = None  # output held back (a stalled NCP UART), in order

    # ---- wiring -------------------------------------------------------------------------------------------

    def attach(self, write: Callable[[bytes], None]) -> None:
        """A host connected: bytes go out through `write`. The link stays quiet until its first RST."""
        self._write = write
        self._started = False
        self._buffer.clear()

    def detach(self) -> None:
        """The host went away (tcp close). Queued frames are dropped; NV state is the EZSP layer's business."""
        self._write = None
        self._started = False
        self._clear_tx()

    @property
    def started(self) -> bool:
        return self._started

    # ---- fault hooks --------------------------------------------------------------------------------------

    def drop_next_ack(self, count: int = 1) -> None:
        """Do not send the next `count` ACK frames (piggy-backed ackNums still go out, so with the default
        `ack_delay` this only bites on a frame the NCP cannot answer at once, or a duplicate)."""
        self._drop_acks += count

    def corrupt_next_data_crc(self, count: int = 1) -> None:
        """Send the next `count` DATA frames with a wrong CRC; the host NAKs and we retransmit with reTx=1."""
        self._corrupt_data += count

    def hold_output(self, seconds: float) -> None:
        """Keep everything we would write for `seconds` (input is still processed), then send it in order.

        With `drop_next_ack` this makes bellows time out and retransmit a command the NCP already executed.
        """
        if self._held is None:
            self._held = []
        asyncio.get_running_loop().call_later(seconds, self._release_output)

    def _release_output(self) -> None:
        held, self._held = self._held or [], None
        if self._write is not None:
            for data in held:
                self._write(data)

    def go_silent(self) -> None:
        """Ignore everything from the host and send nothing (a hung NCP)."""
        self.silent = True
        self._cancel_timer()

    def resume(self) -> None:
        self.silent = False

    def send_unsolicited_rstack(self, code: t.NcpResetCode = t.NcpResetCode.RESET_POWER_ON) -> None:
        """The NCP rebooted on its own: announce it with an RSTACK nobody asked for."""
        self._reset_link()
        self._write_frame(RStackFrame(version=ASH_VERSION, code=code))
        self._on_reset()

    def send_error(self, code: t.NcpResetCode = t.NcpResetCode.ERROR_EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT) -> None:
        """Enter the FAILED state: send ERROR and accept nothing but RST."""
        self._clear_tx()
        self._failed = True
        self._write_frame(ErrorFrame(version=ASH_VERSION, code=code))

    # ---- receive ------------------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.silent:
            return
        self._buffer.extend(data)
        if len(self._buffer) > MAX_FRAME_BUFFER:
            del self._buffer[:-MAX_FRAME_BUFFER]
        while self._buffer:
            match = _CONTROL_BYTE.search(self._buffer)  # in C: a Python loop over every byte cost more than the rest
            if match is None:
                return
            index = match.start()
            byte = self._buffer[index]
            if byte == FLAG:
                raw = bytes(self._buffer[:index])
                del self._buffer[: index + 1]
                if self._discarding:
                    self._discarding = False
                    continue
                if raw:
                    self._raw_frame_received(raw)
            elif byte == CANCEL:
                del self._buffer[: index + 1]  # everything since the last flag is void
                self._discarding = False
            elif byte == SUBSTITUTE:
                del self._buffer[: index + 1]
                self._discarding = True  # void until the next flag
            else:  # XON / XOFF: flow control bytes are not frame data
                del self._buffer[index]

    def _raw_frame_received(self, raw: bytes) -> None:
        try:
            frame = parse(unstuff(raw))
        except AshFrameError as exc:
            self.counters.bad_frames += 1
            LOGGER.debug("NCP: bad frame %s: %s", raw.hex(), exc)
            if self._started and not self._failed and raw and raw[0] & 0x80 == 0:  # a DATA control byte (UG101 §2)
                self._reject()
            return
        self._frame_received(frame)

    def _frame_received(self, frame: Frame) -> None:
        if isinstance(frame, RstFrame):
            self._reset_link()
            self.counters.resets += 1
            self._started = True
            self._write_frame(RStackFrame(version=ASH_VERSION, code=self._reset_code))
            self._on_reset()
            return
        if not self._started or self._failed:
            return  # a real NCP in these states only listens for RST
        if isinstance(frame, DataFrame):
            self._ack_received(frame.ack_num)
            self._data_received(frame)
        elif isinstance(frame, AckFrame):
            self._ack_received(frame.ack_num)
        elif isinstance(frame, NakFrame):
            self.counters.naks_received += 1
            if self._outstanding is not None and frame.ack_num == self._outstanding.frm_num:
                self._retransmit()  # the host rejected our outstanding frame
            else:
                self._ack_received(frame.ack_num)

    def _data_received(self, frame: DataFrame) -> None:
        if frame.frm_num == self._rx_seq:
            self._rx_seq = (self._rx_seq + 1) % 8
            self._rejecting = False
            self.counters.data_in += 1
            if self._ack_delay == 0:
                self._send_ack()
                self._on_frame(frame.payload)
                return
            self._ack_owed = True
            try:
                self._on_frame(frame.payload)  # the response, sent from here, carries the ackNum
            finally:  # a frame the EZSP layer choked on is still acknowledged (it was received)
                if self._ack_owed:
                    self._owe_ack()
        elif frame.re_tx:
            # The host missed our ACK and sent the frame again: ACK it, never execute it twice.
            self.counters.duplicates_acked += 1
            self._send_ack()
        else:
            self._reject()

    def _ack_received(self, ack_num: int) -> None:
        if self._outstanding is not None and ack_num == (self._outstanding.frm_num + 1) % 8:
            self._outstanding = None
            self._attempts = 0
            self._cancel_timer()
            self._pump()

    # ---- transmit -----------------------------------------------------------------------------------------

    def send(self, ezsp_frame: bytes) -> None:
        """Queue one EZSP frame; frames go out in order, one unacknowledged at a time."""
        if not self._started or self._failed:
            return
        self._tx_queue.append(ezsp_frame)
        self._pump()

    def _pump(self) -> None:
        if self._outstanding is not None or not self._tx_queue or self.silent:
            return
        payload = self._tx_queue.popleft()
        self._outstanding = DataFrame(frm_num=self._tx_seq, re_tx=False, ack_num=self._rx_seq, payload=payload)
        self._tx_seq = (self._tx_seq + 1) % 8
        self._attempts = 1
        self.counters.data_out += 1
        corrupt = self._corrupt_data > 0
        if corrupt:
            self._corrupt_data -= 1
        self._send_outstanding(corrupt=corrupt)

    def _retransmit(self) -> None:
        outstanding = self._outstanding
        assert outstanding is not None
        # UG101 §4 "Sending Frames": same frmNum, reTx set, the current ackNum.
        self._outstanding = DataFrame(outstanding.frm_num, True, self._rx_seq, outstanding.payload)
        self._attempts += 1
        self.counters.retransmissions += 1
        self._send_outstanding()

    def _send_outstanding(self, *, corrupt: bool = False) -> None:
        """Write the outstanding DATA frame (its ackNum pays an owed acknowledgement) and time its own ACK."""
        sent = self._outstanding
        assert sent is not None
        self._write_frame(sent, corrupt=corrupt)
        if self._ack_owed and sent.ack_num == self._rx_seq:  # not a host frame that arrived during the write
            self._ack_carried()
        self._start_timer()

    def _ack_timeout(self) -> None:
        self._ack_timer = None
        if self._outstanding is None or self.silent:
            return
        if self._attempts >= ACK_TIMEOUTS:
            LOGGER.debug("NCP: host never acknowledged frame %d, entering FAILED", self._outstanding.frm_num)
            self.send_error(t.NcpResetCode.ERROR_EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT)
            return
        self._retransmit()

    def _owe_ack(self) -> None:
        """No DATA frame of ours carried the ackNum: send an ACK frame T_TX_ACK_DELAY from now unless one does."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven synchronously (unit tests): nothing can be sent later, so send it now
            self._send_ack()
            return
        timer = self._owed_ack_timer
        if timer is not None and self._owed_ack_loop is loop and not timer.cancelled():
            return  # already due; it will acknowledge up to the latest frame
        self._owed_ack_loop = loop  # a handle armed on a loop that has since ended never fires: arm a new one
        self._owed_ack_timer = loop.call_later(self._ack_delay, self._owed_ack_due)

    def _owed_ack_due(self) -> None:
        self._owed_ack_timer = None
        if self._ack_owed:
            self._send_ack()

    def _ack_carried(self) -> None:
        """A DATA frame just went out with ackNum = our rx sequence: it acknowledges what an ACK frame would."""
        self._ack_owed = False
        if self._owed_ack_timer is not None:
            self._owed_ack_timer.cancel()
            self._owed_ack_timer = None

    def _send_ack(self) -> None:
        if self._ack_owed:
            self._ack_carried()  # this ACK pays any acknowledgement owed (a duplicate's ACK, the delayed one)
        if self._drop_acks > 0:
            self._drop_acks -= 1
            return  # sent, as far as the NCP knows, and lost on the way
        self._write_wire(_ack_wire(self._rx_seq))

    def _reject(self) -> None:
        if self._rejecting:
            return
        self._rejecting = True
        self.counters.naks_sent += 1
        if self._ack_owed:
            self._ack_carried()  # a NAK's ackNum acknowledges what came before the rejected frame
        self._write_frame(NakFrame(ack_num=self._rx_seq))

    def _write_frame(self, frame: Frame, *, corrupt: bool = False) -> None:
        if corrupt:
            raw = frame_bytes(frame)
            self._write_wire(wire(raw[:-1] + bytes([raw[-1] ^ 0xFF])))  # CRC low byte flipped
        else:
            self._write_wire(encode(frame))

    def _write_wire(self, data: bytes) -> None:
        if self._write is None or self.silent:
            return
        if self._held is not None:
            self._held.append(data)
        else:
            self._write(data)

    # ---- state --------------------------------------------------------------------------------------------

    def _reset_link(self) -> None:
        self._clear_tx()
        self._failed = False
        self._tx_seq = 0
        self._rx_seq = 0
        self._rejecting = False

    def _clear_tx(self) -> None:
        self._cancel_timer()
        self._ack_carried()  # nothing owed across a reset or to a host that went away
        self._tx_queue.clear()
        self._outstanding = None
        self._attempts = 0

    def _start_timer(self) -> None:
        # One timer handle lives across frames: each DATA frame only moves the deadline, and the handle re-arms
        # itself for the latest deadline when it fires early. Creating and cancelling a timer per frame was the
        # largest single cost of the NCP's ASH layer (docs/performance.md).
        loop = self._loop
        if loop is None or not loop.is_running():  # asked once per loop, not per frame (it is a syscall: getpid)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # driven synchronously (unit tests): no retransmission timer
            if loop is not self._loop:
                self._loop, self._ack_timer = loop, None  # a handle armed on another loop never fires here
        self._ack_deadline = loop.time() + self._t_rx_ack
        if self._ack_timer is None:
            self._ack_timer = loop.call_at(self._ack_deadline, self._ack_timer_fired)

    def _ack_timer_fired(self) -> None:
        self._ack_timer = None
        deadline = self._ack_deadline
        if deadline is None:
            return  # cancelled since it was armed
        loop = asyncio.get_running_loop()
        if loop.time() < deadline:
            self._ack_timer = loop.call_at(deadline, self._ack_timer_fired)
            return
        self._ack_deadline = None
        self._ack_timeout()

    def _cancel_timer(self) -> None:
        self._ack_deadline = None  # the handle, if armed, fires once more and finds nothing to do


@functools.cache
def _ack_wire(ack_num: int) -> bytes:
    # An ACK's bytes depend on its ackNum alone (nRdy 0): eight frames, built once, not one per DATA frame received.
    return encode(AckFrame(ack_num=ack_num))


_CONTROL_BYTES = frozenset({FLAG, CANCEL, SUBSTITUTE, XON, XOFF})
_CONTROL_BYTE = re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in sorted(_CONTROL_BYTES)) + b"]")
