"""The simulated radio: real 802.15.4 PSDUs (with FCS) delivered between emulated nodes on asyncio.

The medium is a shared channel, like air: every frame a node transmits reaches every other powered node on
the same channel, and each node's MAC filters by PAN and address, as a real radio does. Delivery is always
asynchronous (loop.call_soon / call_later), never a nested call, so a node's state machine runs as it would
on a real stack.

Per-link faults, keyed by the ordered pair (sender EUI-64, receiver EUI-64), drop, delay or corrupt frames;
a corrupted frame fails its FCS and the receiving MAC discards it. Sniffer taps see every frame once, as it
was transmitted (before any per-link fault), which is what a sniffer next to the sender would capture.

Cost (a HAN of hundreds of meters): a frame is one timer on the loop, not one per receiver (links with a fault
get their own); at delivery the medium reads the destination address from the MAC header (frame control, PAN,
short or extended address: a few bytes, no decoding) and hands the frame only to the nodes it is addressed to,
or to all for a broadcast, a beacon or an ACK. Every receiving MAC still decodes and filters the frame itself, as
before: the medium only skips the nodes whose MAC would have dropped it on the address. Nodes are keyed by the
EUI-64's 8 bytes (zigpy's EUI64 hashes its repr string on every lookup).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from zigpy.types import EUI64

__all__ = ["RadioNode", "LinkFault", "Medium", "SniffedFrame", "PcapSniffer"]

LOGGER = logging.getLogger(__name__)

# Time on air of a short ZigBee frame is ~1-4 ms at 250 kbit/s; a fixed 1 ms keeps ordering realistic.
DEFAULT_AIR_TIME = 0.001


class RadioNode(Protocol):
    """What the medium needs of a node."""

    eui64: EUI64

    @property
    def nwk(self) -> int | None: ...

    @property
    def channel(self) -> int: ...

    @property
    def radio_on(self) -> bool: ...

    def radio_receive(self, psdu: bytes, lqi: int, rssi: int) -> None: ...


@dataclass
class LinkFault:
    """A fault on one directed link. Probabilities are 0..1 (1 = every frame); delay is extra seconds."""

    drop: float = 0.0
    delay: float = 0.0
    corrupt: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop", "corrupt"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"LinkFault.{name}={value} is not a probability in 0..1")
        if self.delay < 0:
            raise ValueError(f"LinkFault.delay={self.delay} s is negative")


@dataclass(frozen=True)
class SniffedFrame:
    """One transmitted frame as a sniffer saw it. `wall_time` is epoch seconds (for pcap records)."""

    wall_time: float
    loop_time: float
    channel: int
    sender: EUI64
    psdu: bytes


Tap = Callable[[SniffedFrame], None]


class Medium:
    """Nodes by EUI-64 (and NWK address), frame delivery, per-link faults, sniffer taps."""

    def __init__(
        self,
        *,
        air_time: float = DEFAULT_AIR_TIME,
        seed: int = 0,
        lqi: int = 255,
        rssi: int = -40,
    ) -> None:
        self.air_time = air_time
        self.lqi = lqi
        self.rssi = rssi
        self._rng = random.Random(seed)
        self._nodes: dict[bytes, RadioNode] = {}
        self._faults: dict[tuple[bytes, bytes], LinkFault] = {}
        self._taps: list[Tap] = []
        self.frames_sent = 0
        self.node_errors: list[str] = []  # a node that raised while receiving: a bug, surfaced by the bench
        self.frames_dropped = 0
        self.frames_corrupted = 0

    # -- nodes ---------------------------------------------------------------------------------------------

    def attach(self, node: RadioNode) -> None:
        key = _key(node.eui64)
        existing = self._nodes.get(key)
        if existing is not None and existing is not node:
            raise ValueError(f"medium: a node with EUI-64 {node.eui64} is already attached")
        self._nodes[key] = node

    def detach(self, node: RadioNode) -> None:
        key = _key(node.eui64)
        if self._nodes.get(key) is node:
            del self._nodes[key]

    @property
    def nodes(self) -> list[RadioNode]:
        return list(self._nodes.values())

    def node(self, eui64: EUI64) -> RadioNode:
        try:
            return self._nodes[_key(eui64)]
        except KeyError:
            raise KeyError(f"medium: no node with EUI-64 {eui64}") from None

    def node_by_nwk(self, nwk: int) -> RadioNode | None:
        """The node currently holding this NWK address on the air, if any."""
        for node in self._nodes.values():
            if node.nwk == nwk:
                return node
        return None

    # -- faults --------------------------------------------------------------------------------------------

    def set_link_fault(self, src: EUI64, dst: EUI64, fault: LinkFault | None = None, **kwargs: float) -> LinkFault:
        """Set the fault on the directed link src -> dst (a LinkFault, or its fields as keywords)."""
        fault = fault if fault is not None else LinkFault(**kwargs)
        self._faults[(_key(src), _key(dst))] = fault
        return fault

    def set_fault_both_ways(self, a: EUI64, b: EUI64, **kwargs: float) -> None:
        self.set_link_fault(a, b, **kwargs)
        self.set_link_fault(b, a, **kwargs)

    def clear_link_fault(self, src: EUI64, dst: EUI64) -> None:
        self._faults.pop((_key(src), _key(dst)), None)

    def clear_link_faults(self) -> None:
        self._faults.clear()

    # -- taps ----------------------------------------------------------------------------------------------

    def add_tap(self, tap: Tap) -> None:
        self._taps.append(tap)

    def remove_tap(self, tap: Tap) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    # -- delivery ------------------------------------------------------------------------------------------

    def transmit(self, sender: RadioNode, psdu: bytes) -> None:
        """Put one PSDU (MAC header + payload + FCS) on the sender's channel."""
        psdu = bytes(psdu)
        loop = asyncio.get_running_loop()
        self.frames_sent += 1
        if self._taps:
            sniffed = SniffedFrame(time.time(), loop.time(), sender.channel, sender.eui64, psdu)
            for tap in list(self._taps):
                try:
                    tap(sniffed)
                except Exception:  # a broken tap must not take the radio down
                    LOGGER.exception("medium: sniffer tap failed")
        channel = sender.channel
        sender_key = _key(sender.eui64)
        faulted: set[bytes] = set()
        if self._faults:
            for (src, dst), fault in self._faults.items():
                if src != sender_key:
                    continue
                receiver = self._nodes.get(dst)
                if receiver is None or receiver is sender or receiver.channel != channel:
                    continue
                faulted.add(dst)
                frame, delay = psdu, self.air_time + fault.delay
                if fault.drop and self._rng.random() < fault.drop:
                    self.frames_dropped += 1
                    continue
                if fault.corrupt and self._rng.random() < fault.corrupt:
                    self.frames_corrupted += 1
                    frame = self._corrupt(frame)
                loop.call_later(delay, self._deliver, receiver, channel, frame)
        loop.call_later(self.air_time, self._deliver_all, sender, channel, psdu, faulted)

    def _corrupt(self, psdu: bytes) -> bytes:
        damaged = bytearray(psdu)
        position = self._rng.randrange(len(damaged))
        damaged[position] ^= 1 << self._rng.randrange(8)
        return bytes(damaged)

    def _addressees(self, sender: RadioNode, channel: int, psdu: bytes, skip: set[bytes]) -> list[RadioNode]:
        """The nodes on the channel whose MAC would look at this frame, from its destination address alone."""
        mode, dst = destination(psdu)
        if mode == "extended":
            node = self._nodes.get(dst)  # type: ignore[arg-type]
            candidates = [node] if node is not None and dst not in skip else []
        else:
            candidates = [n for k, n in self._nodes.items() if k not in skip]
            if mode == "short" and dst != BROADCAST_SHORT:
                candidates = [n for n in candidates if n.nwk == dst]
        return [n for n in candidates if n is not sender and n.channel == channel]

    def _deliver_all(self, sender: RadioNode, channel: int, psdu: bytes, skip: set[bytes]) -> None:
        for receiver in self._addressees(sender, channel, psdu, skip):
            self._deliver(receiver, channel, psdu)

    def _deliver(self, receiver: RadioNode, channel: int, psdu: bytes) -> None:
        # The receiver may have switched off, changed channel or left since the frame was sent.
        if self._nodes.get(_key(receiver.eui64)) is not receiver or not receiver.radio_on \
                or receiver.channel != channel:
            return
        try:
            receiver.radio_receive(psdu, self.lqi, self.rssi)
        except Exception as exc:  # one node's bug must not stop delivery to the others
            LOGGER.exception("medium: node %s failed to process a frame", receiver.eui64)
            self.node_errors.append(f"{receiver.eui64}: {exc!r}")


BROADCAST_SHORT = 0xFFFF
_ADDR_NONE, _ADDR_SHORT, _ADDR_EXTENDED = 0, 2, 3


def _key(eui64: EUI64 | bytes | list[int]) -> bytes:
    """A node's dictionary key: the EUI-64's 8 octets in wire (little-endian) order, as in the MAC header."""
    return bytes(eui64)


def destination(psdu: bytes) -> tuple[str, int | bytes | None]:
    """The destination address of an 802.15.4 frame, read from its header without decoding it.

    ("none", None) when there is none (a beacon, an ACK) or the header is too short to tell: such a frame goes to
    every node, whose MAC decides. 802.15.4-2006 7.2.1: frame control (2 octets LE; destination addressing mode
    in bits 10-11), sequence number, then destination PAN and address.
    """
    if len(psdu) < 3:
        return "none", None
    mode = (psdu[1] >> 2) & 0x03  # bits 10-11 of the little-endian frame control
    if mode == _ADDR_SHORT and len(psdu) >= 7:
        return "short", psdu[5] | psdu[6] << 8
    if mode == _ADDR_EXTENDED and len(psdu) >= 13:
        return "extended", bytes(psdu[5:13])
    return "none", None


class PcapSniffer:
    """A tap writing every frame to a LINKTYPE 195 pcap, plus the Wireshark `zigbee_pc_keys` table next to it.

    `keys` are (key, label) pairs. Give only the install-code link keys: Wireshark learns the network key from
    the decrypted Transport Key in the same capture (vectors.md 5.1). The table holds secrets; it is written
    only because a capture is useless without it, next to the pcap, never to a log.
    """

    def __init__(self, medium: Medium, path: str | Path, keys: Iterable[tuple[bytes, str]] = (), *,
                 flush_interval: float | None = None) -> None:
        """`flush_interval`: None puts every frame on disk as it is sent; seconds: frames are flushed in batches
        at most that far behind (the fleet; harness/evidence/deferred_write.py), and all of them on close."""
        from harness.evidence.deferred_write import DeferredWrite
        from harness.evidence.pcap import PcapWriter  # evidence is needed only when sniffing

        self.path = Path(path)
        self.medium = medium
        self.keys: list[tuple[bytes, str]] = [(bytes(key), label) for key, label in keys]
        self._writer = PcapWriter.open(self.path)
        self._flushes = DeferredWrite(self._writer.flush, flush_interval)  # close() cancels a pending flush
        self._closed = False
        self.frames = 0
        medium.add_tap(self._on_frame)

    def add_key(self, key: bytes, label: str) -> None:
        if all(bytes(key) != known for known, _ in self.keys):
            self.keys.append((bytes(key), label))

    def _on_frame(self, frame: SniffedFrame) -> None:
        if self._closed:
            return
        # Frames are written as sent; a corrupted copy exists only on one receiver's link.
        self._writer.write(frame.wall_time, frame.psdu)
        self._flushes.changed()
        self.frames += 1

    @property
    def key_table_path(self) -> Path:
        return self.path.with_name(self.path.name + ".zigbee_pc_keys")

    def write_key_table(self) -> Path:
        from harness.evidence.pcap import write_zigbee_keys

        write_zigbee_keys(self.key_table_path, self.keys)  # owner-only from its first byte (created 0600)
        return self.key_table_path

    def close(self) -> Path:
        """Stop capturing, close the pcap and write the key table; returns the key-table path."""
        if not self._closed:
            self._closed = True
            self._flushes.written()
            self.medium.remove_tap(self._on_frame)
            self._writer.close()
        return self.write_key_table()
