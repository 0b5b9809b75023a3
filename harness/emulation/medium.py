"""The simulated radio: real 802.15.4 PSDUs (with FCS) delivered between emulated nodes on asyncio.

The medium is a shared channel, like air: every frame a node transmits reaches every other powered node on
the same channel, and each node's MAC filters by PAN and address, as a real radio does. Delivery is always
asynchronous (loop.call_soon / call_later), never a nested call, so a node's state machine runs as it would
on a real stack.

Per-link faults, keyed by the ordered pair (sender EUI-64, receiver EUI-64), drop, delay or corrupt frames;
a corrupted frame fails its FCS and the receiving MAC discards it. Sniffer taps see every frame once, as it
was transmitted (before any per-link fault), which is what a sniffer next to the sender would capture.
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
        self._nodes: dict[EUI64, RadioNode] = {}
        self._faults: dict[tuple[EUI64, EUI64], LinkFault] = {}
        self._taps: list[Tap] = []
        self.frames_sent = 0
        self.node_errors: list[str] = []  # a node that raised while receiving: a bug, surfaced by the bench
        self.frames_dropped = 0
        self.frames_corrupted = 0

    # -- nodes ---------------------------------------------------------------------------------------------

    def attach(self, node: RadioNode) -> None:
        existing = self._nodes.get(node.eui64)
        if existing is not None and existing is not node:
            raise ValueError(f"medium: a node with EUI-64 {node.eui64} is already attached")
        self._nodes[node.eui64] = node

    def detach(self, node: RadioNode) -> None:
        if self._nodes.get(node.eui64) is node:
            del self._nodes[node.eui64]

    @property
    def nodes(self) -> list[RadioNode]:
        return list(self._nodes.values())

    def node(self, eui64: EUI64) -> RadioNode:
        try:
            return self._nodes[EUI64(eui64)]
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
        self._faults[(EUI64(src), EUI64(dst))] = fault
        return fault

    def set_fault_both_ways(self, a: EUI64, b: EUI64, **kwargs: float) -> None:
        self.set_link_fault(a, b, **kwargs)
        self.set_link_fault(b, a, **kwargs)

    def clear_link_fault(self, src: EUI64, dst: EUI64) -> None:
        self._faults.pop((EUI64(src), EUI64(dst)), None)

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
        sniffed = SniffedFrame(time.time(), loop.time(), sender.channel, sender.eui64, psdu)
        for tap in list(self._taps):
            try:
                tap(sniffed)
            except Exception:  # a broken tap must not take the radio down
                LOGGER.exception("medium: sniffer tap failed")
        for receiver in list(self._nodes.values()):
            if receiver is sender or receiver.channel != sender.channel:
                continue
            fault = self._faults.get((sender.eui64, receiver.eui64))
            frame = psdu
            delay = self.air_time
            if fault is not None:
                if fault.drop and self._rng.random() < fault.drop:
                    self.frames_dropped += 1
                    continue
                if fault.corrupt and self._rng.random() < fault.corrupt:
                    self.frames_corrupted += 1
                    frame = self._corrupt(frame)
                delay += fault.delay
            loop.call_later(delay, self._deliver, receiver, sender.channel, frame)

    def _corrupt(self, psdu: bytes) -> bytes:
        damaged = bytearray(psdu)
        position = self._rng.randrange(len(damaged))
        damaged[position] ^= 1 << self._rng.randrange(8)
        return bytes(damaged)

    def _deliver(self, receiver: RadioNode, channel: int, psdu: bytes) -> None:
        # The receiver may have switched off, changed channel or left since the frame was sent.
        if self._nodes.get(receiver.eui64) is not receiver or not receiver.radio_on or receiver.channel != channel:
            return
        try:
            receiver.radio_receive(psdu, self.lqi, self.rssi)
        except Exception as exc:  # one node's bug must not stop delivery to the others
            LOGGER.exception("medium: node %s failed to process a frame", receiver.eui64)
            self.node_errors.append(f"{receiver.eui64}: {exc!r}")


class PcapSniffer:
    """A tap writing every frame to a LINKTYPE 195 pcap, plus the Wireshark `zigbee_pc_keys` table next to it.

    `keys` are (key, label) pairs. Give only the install-code link keys: Wireshark learns the network key from
    the decrypted Transport Key in the same capture (vectors.md 5.1). The table holds secrets; it is written
    only because a capture is useless without it, next to the pcap, never to a log.
    """

    def __init__(self, medium: Medium, path: str | Path, keys: Iterable[tuple[bytes, str]] = ()) -> None:
        from harness.evidence.pcap import PcapWriter  # evidence is needed only when sniffing

        self.path = Path(path)
        self.medium = medium
        self.keys: list[tuple[bytes, str]] = [(bytes(key), label) for key, label in keys]
        self._writer = PcapWriter.open(self.path)
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
        self._writer.flush()
        self.frames += 1

    @property
    def key_table_path(self) -> Path:
        return self.path.with_name(self.path.name + ".zigbee_pc_keys")

    def write_key_table(self) -> Path:
        from harness.evidence.pcap import write_zigbee_keys

        self.key_table_path.touch(mode=0o600)
        self.key_table_path.chmod(0o600)  # the network and link keys: owner-only, before they are written
        write_zigbee_keys(self.key_table_path, self.keys)
        return self.key_table_path

    def close(self) -> Path:
        """Stop capturing, close the pcap and write the key table; returns the key-table path."""
        if not self._closed:
            self._closed = True
            self.medium.remove_tap(self._on_frame)
            self._writer.close()
        return self.write_key_table()
