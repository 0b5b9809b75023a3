"""The medium at HAN scale: address filtering before any decoding, one timer per frame, byte keys (issue 14)."""

from __future__ import annotations

import asyncio

from zigpy.types import EUI64

from harness.emulation.medium import Medium, destination
from harness.zigbee.mac import MacFrame
from tests.emulation.test_medium import Radio, frame, make, settle

PAN = 0x1A62


def unicast(dst: int | EUI64, src: int = 0x0000) -> bytes:
    return MacFrame.data(7, PAN, dst, src, b"\x01\x02").to_bytes()


def test_destination_is_read_from_the_header_as_802_15_4_lays_it_out():
    eui = EUI64.convert("00:0d:6f:00:00:00:00:42")
    assert destination(unicast(0x1234)) == ("short", 0x1234)
    assert destination(unicast(eui)) == ("extended", bytes(eui))
    assert destination(frame()) == ("short", 0xFFFF)  # beacon request: broadcast
    assert destination(MacFrame.ack(3).to_bytes()) == ("none", None)
    assert destination(b"\x41") == ("none", None)


async def test_a_unicast_frame_reaches_only_its_addressee_and_a_broadcast_every_node():
    medium = Medium()
    nodes = make(medium, 5)
    for i, node in enumerate(nodes):
        node.nwk = 0x1000 + i
    medium.transmit(nodes[0], unicast(0x1003))  # type: ignore[arg-type]
    medium.transmit(nodes[0], unicast(nodes[2].eui64))  # type: ignore[arg-type]
    medium.transmit(nodes[0], frame(9))  # type: ignore[arg-type]
    medium.transmit(nodes[0], MacFrame.ack(7).to_bytes())  # type: ignore[arg-type]
    await settle()
    assert [len(n.heard) for n in nodes] == [0, 2, 3, 3, 2]
    assert unicast(0x1003) in nodes[3].heard and unicast(0x1003) not in nodes[1].heard


async def test_a_frame_is_one_timer_however_many_nodes_hear_it(monkeypatch):
    medium = Medium()
    nodes = make(medium, 60)
    loop = asyncio.get_running_loop()
    timers = 0
    real = loop.call_later

    def counting(delay, callback, *args, **kwargs):
        nonlocal timers
        timers += 1
        return real(delay, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_later", counting)
    medium.transmit(nodes[0], frame())  # type: ignore[arg-type]
    medium.set_link_fault(nodes[0].eui64, nodes[1].eui64, delay=0.01)
    medium.transmit(nodes[0], frame(2))  # type: ignore[arg-type]
    monkeypatch.undo()
    await asyncio.sleep(0.05)
    assert timers == 3  # one per frame, plus one for the faulty link
    assert all(len(n.heard) == 2 for n in nodes[1:])


async def test_a_node_that_changes_its_short_address_gets_frames_for_the_new_one():
    medium = Medium()
    a, b = make(medium, 2)
    b.nwk = 0x2222
    medium.transmit(a, unicast(0x3333))  # type: ignore[arg-type]
    b.nwk = 0x3333  # assigned while the frame is on the air: the MAC filters on arrival
    await settle()
    assert b.heard == [unicast(0x3333)]
    assert isinstance(Radio(b.eui64).eui64, EUI64)
