"""The simulated radio medium: delivery, channels, per-link faults, sniffer pcap."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from zigpy.types import EUI64

from harness.emulation.medium import LinkFault, Medium, PcapSniffer
from harness.evidence.pcap import LINKTYPE_IEEE802_15_4_WITHFCS, read_pcap
from harness.errors import DecodeError
from harness.zigbee.mac import MacFrame


@dataclass
class Radio:
    eui64: EUI64
    nwk: int | None = None
    channel: int = 15
    radio_on: bool = True
    heard: list[bytes] = field(default_factory=list)
    order: list[str] | None = None
    name: str = ""

    def radio_receive(self, psdu: bytes, lqi: int, rssi: int) -> None:
        self.heard.append(psdu)
        if self.order is not None:
            self.order.append(self.name)


def make(medium: Medium, count: int, **kwargs: object) -> list[Radio]:
    radios = [Radio(EUI64.convert(f"00:0d:6f:00:00:00:00:{i:02x}"), name=f"r{i}", **kwargs) for i in range(count)]
    for radio in radios:
        medium.attach(radio)  # type: ignore[arg-type]
    return radios


def frame(seq: int = 1) -> bytes:
    return MacFrame.beacon_request(seq).to_bytes()


async def settle() -> None:
    await asyncio.sleep(0.05)


async def test_a_frame_reaches_every_other_node_on_the_channel_only() -> None:
    medium = Medium()
    a, b, c = make(medium, 3)
    c.channel = 20
    off = Radio(EUI64.convert("00:0d:6f:00:00:00:00:77"), radio_on=False)
    medium.attach(off)  # type: ignore[arg-type]
    medium.transmit(a, frame())  # type: ignore[arg-type]
    assert b.heard == []  # never delivered synchronously
    await settle()
    assert b.heard == [frame()]
    assert a.heard == [] and c.heard == [] and off.heard == []


async def test_nodes_are_found_by_eui64_and_nwk() -> None:
    medium = Medium()
    a, b = make(medium, 2)
    b.nwk = 0x1234
    assert medium.node(a.eui64) is a
    assert medium.node_by_nwk(0x1234) is b
    assert medium.node_by_nwk(0x9999) is None
    with pytest.raises(KeyError, match="00:0d:6f:00:00:00:00:55"):
        medium.node(EUI64.convert("00:0d:6f:00:00:00:00:55"))
    with pytest.raises(ValueError, match="already attached"):
        medium.attach(Radio(a.eui64))  # type: ignore[arg-type]


async def test_drop_fault_applies_to_one_direction_of_one_link() -> None:
    medium = Medium()
    a, b, c = make(medium, 3)
    medium.set_link_fault(a.eui64, b.eui64, drop=1.0)
    medium.transmit(a, frame(1))  # type: ignore[arg-type]
    medium.transmit(b, frame(2))  # type: ignore[arg-type]
    await settle()
    assert b.heard == []
    assert c.heard == [frame(1), frame(2)]
    assert a.heard == [frame(2)]  # b -> a is not faulty
    medium.clear_link_fault(a.eui64, b.eui64)
    medium.transmit(a, frame(3))  # type: ignore[arg-type]
    await settle()
    assert b.heard == [frame(3)]


async def test_delay_fault_reorders_arrival() -> None:
    medium = Medium()
    order: list[str] = []
    a, b, c = make(medium, 3, order=order)
    medium.set_link_fault(a.eui64, b.eui64, delay=0.02)
    medium.transmit(a, frame())  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    assert order == ["r2", "r1"]


async def test_corrupt_fault_breaks_the_fcs_for_that_receiver_only() -> None:
    medium = Medium()
    a, b, c = make(medium, 3)
    medium.set_link_fault(a.eui64, b.eui64, LinkFault(corrupt=1.0))
    medium.transmit(a, frame())  # type: ignore[arg-type]
    await settle()
    assert c.heard == [frame()]
    with pytest.raises(DecodeError, match="FCS"):
        MacFrame.from_bytes(b.heard[0])
    assert medium.frames_corrupted == 1


def test_fault_values_are_checked() -> None:
    with pytest.raises(ValueError, match="drop=1.5"):
        LinkFault(drop=1.5)
    with pytest.raises(ValueError, match="negative"):
        LinkFault(delay=-1)


async def test_sniffer_writes_every_transmitted_frame_and_the_key_table(tmp_path: Path) -> None:
    medium = Medium()
    a, b = make(medium, 2)
    medium.set_link_fault(a.eui64, b.eui64, drop=1.0)  # the sniffer still hears what was sent
    pcap_path = tmp_path / "air.pcap"
    sniffer = PcapSniffer(medium, pcap_path, [(bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB"), "esme key")])
    medium.transmit(a, frame(1))  # type: ignore[arg-type]
    medium.transmit(b, frame(2))  # type: ignore[arg-type]
    await settle()
    keys = sniffer.close()
    linktype, records = read_pcap(pcap_path)
    assert linktype == LINKTYPE_IEEE802_15_4_WITHFCS
    assert [record.data for record in records] == [frame(1), frame(2)]
    assert keys.read_text() == '"66B6900981E1EE3CA4206B6B861C02BB","Normal","esme key"\n'
    medium.transmit(a, frame(3))  # type: ignore[arg-type]
    assert len(read_pcap(pcap_path)[1]) == 2  # closed: no more records
