"""decode_frame: the sniffer's MAC -> NWK -> APS -> ZDO/ZCL peel with a key ring, on vectors.md 3.4 frames."""

from __future__ import annotations

from hypothesis import given, strategies as st
from zigpy.types import EUI64, KeyData

from harness.errors import DecodeError
from harness.zigbee.aps import TransportNetworkKey
from harness.zigbee.auxsec import SecuredPayload
from harness.zigbee.frames import KeyRing, decode_frame
from harness.zigbee.mac import fcs
from tests.zigbee.test_aps import FRAME_1, FRAME_2, FRAME_3, FRAME_4, FRAME_5

DEVICE = EUI64.convert("AA:BB:CC:DD:EE:FF:00:01")
NETWORK_KEY = KeyData(bytes.fromhex("01030507090B0D0F00020406080A0C0D"))
LINK_KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")


def test_capture_decodes_with_only_the_install_code_link_key() -> None:
    keys = KeyRing()
    keys.add_link_key(DEVICE, LINK_KEY)
    first = decode_frame(FRAME_1, keys)
    assert first.zcl is not None and first.zcl.command_id == 0x00 and first.aps.cluster_id == 0x0702  # type: ignore[union-attr]

    transport = decode_frame(FRAME_2, keys)
    assert isinstance(transport.aps.payload, TransportNetworkKey)  # type: ignore[union-attr]
    assert keys.network_keys == {0: NETWORK_KEY}  # learned, as Wireshark does

    response = decode_frame(FRAME_3, keys)
    assert response.notes == []
    (record,) = response.zcl.command.status_records  # type: ignore[union-attr]
    assert record.value.value == 123456
    assert keys.addresses[0x1234] == DEVICE

    key_establishment = decode_frame(FRAME_4, keys)
    assert key_establishment.aps.cluster_id == 0x0800 and key_establishment.zcl is not None  # type: ignore[union-attr]

    tunnel = decode_frame(FRAME_5, keys)
    assert tunnel.aps.cluster_id == 0x0704 and tunnel.aps.is_decrypted  # type: ignore[union-attr]
    assert tunnel.zcl is not None and tunnel.zcl.command == bytes.fromhex("06ffff00dc05")


def test_missing_keys_leave_notes_not_exceptions() -> None:
    decoded = decode_frame(FRAME_3, KeyRing())
    assert decoded.nwk is not None and isinstance(decoded.nwk.payload, SecuredPayload)
    assert decoded.aps is None
    assert decoded.notes == ["NWK payload not decrypted: no network key with sequence number 0"]
    aps_only = decode_frame(FRAME_2, KeyRing(), learn=False)
    assert isinstance(aps_only.aps.payload, SecuredPayload)  # type: ignore[union-attr]
    assert "no KEY_TRANSPORT key verified the MIC" in aps_only.notes[0]


def test_bad_mic_is_a_note() -> None:
    keys = KeyRing()
    keys.add_network_key(NETWORK_KEY)
    body = FRAME_3[:-3] + bytes([FRAME_3[-3] ^ 1])
    decoded = decode_frame(body + fcs(body).to_bytes(2, "little"), keys)
    assert decoded.aps is None and "MIC check failed" in decoded.notes[0]


@given(st.binary(max_size=90))
def test_fuzz_only_the_mac_layer_may_raise(raw: bytes) -> None:
    keys = KeyRing()
    keys.add_network_key(NETWORK_KEY)
    keys.add_link_key(DEVICE, LINK_KEY)
    try:
        decode_frame(raw + fcs(raw).to_bytes(2, "little"), keys)
    except DecodeError:
        pass
