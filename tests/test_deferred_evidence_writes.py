"""The fleet's batched evidence writes (harness/evidence/deferred_write.py): the timeline and the radio capture reach
the disk at most one interval behind while a premises runs, and completely when it closes; without an interval
every event and frame is on disk as it happens (a crash keeps everything up to that moment)."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from pathlib import Path

from harness.emulation.medium import Medium, PcapSniffer
from harness.evidence.bundle import EvidenceBundle
from harness.evidence.deferred_write import DeferredWrite
from harness.evidence.pcap import read_pcap
from harness.zigbee.mac import MacFrame


def _events(bundle: EvidenceBundle) -> list[str]:
    return [json.loads(line)["kind"] for line in (bundle.dir / "timeline.jsonl").read_text().splitlines()]


async def _until(check, timeout: float = 2.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)


async def test_an_eager_timeline_has_each_event_on_disk_at_once(tmp_path: Path) -> None:
    bundle = EvidenceBundle(tmp_path, "tests/x.py::eager")
    bundle.timeline.record("srv.sent", srv="8.11")
    assert _events(bundle) == ["srv.sent"]


async def test_a_batched_timeline_is_at_most_one_interval_behind_and_complete_on_close(tmp_path: Path) -> None:
    bundle = EvidenceBundle(tmp_path, "tests/x.py::batched", coalesce_saves=0.2)
    assert bundle.write_interval == 0.2
    bundle.timeline.record("srv.sent", srv="8.11")
    bundle.timeline.record("srv.response", srv="8.11")
    await asyncio.sleep(0)
    assert _events(bundle) == []  # buffered: the interval has not passed
    await _until(lambda: _events(bundle) != [])
    assert _events(bundle) == ["srv.sent", "srv.response"]
    bundle.timeline.record("join", device="esme")
    bundle.close("passed")
    assert _events(bundle) == ["srv.sent", "srv.response", "join", "test.end"]


async def test_a_write_done_by_its_owner_cancels_the_armed_timer_and_lets_the_owner_go(tmp_path: Path) -> None:
    """A closed bundle must not stay reachable from the event loop for an interval (in the fleet, the timeline's
    clock reaches the whole finished bench)."""
    writes: list[int] = []

    class Owner:
        def __init__(self) -> None:
            self.saves = DeferredWrite(self.save, 5.0)  # the timer reaches the owner through its write method

        def save(self) -> None:
            writes.append(1)

    owner = Owner()
    owner.saves.changed()
    assert owner.saves.pending and writes == []
    owner.saves.written()
    gone = weakref.ref(owner)
    del owner
    gc.collect()
    assert gone() is None  # the loop no longer holds it through the 5 s timer
    assert writes == []


def _frame(seq: int) -> bytes:
    return MacFrame.beacon_request(seq).to_bytes()


class _Radio:
    def __init__(self, eui64: str) -> None:
        from zigpy.types import EUI64

        self.eui64, self.nwk, self.channel, self.radio_on = EUI64.convert(eui64), None, 15, True

    def radio_receive(self, psdu: bytes, lqi: int, rssi: int) -> None:
        pass


async def test_a_batched_capture_flushes_after_the_interval_and_on_close(tmp_path: Path) -> None:
    medium = Medium()
    radio = _Radio("00:0d:6f:00:00:00:00:01")
    medium.attach(radio)  # type: ignore[arg-type]
    path = tmp_path / "air.pcap"
    sniffer = PcapSniffer(medium, path, flush_interval=0.2)
    medium.transmit(radio, _frame(1))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert path.stat().st_size == 0  # the header and the frame are still in the writer's buffer
    await _until(lambda: path.stat().st_size > 0)
    assert [r.data for r in read_pcap(path)[1]] == [_frame(1)]
    medium.transmit(radio, _frame(2))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    sniffer.close()
    assert [r.data for r in read_pcap(path)[1]] == [_frame(1), _frame(2)]


async def test_an_eager_capture_has_each_frame_on_disk_as_it_is_sent(tmp_path: Path) -> None:
    medium = Medium()
    radio = _Radio("00:0d:6f:00:00:00:00:01")
    medium.attach(radio)  # type: ignore[arg-type]
    path = tmp_path / "air.pcap"
    sniffer = PcapSniffer(medium, path)
    medium.transmit(radio, _frame(1))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    assert [r.data for r in read_pcap(path)[1]] == [_frame(1)]
    sniffer.close()
