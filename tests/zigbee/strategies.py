"""Hypothesis strategies for well-formed MAC, NWK and APS frames (used by the round-trip property tests)."""

from __future__ import annotations

from hypothesis import strategies as st
from zigpy.types import EUI64, KeyData

from harness.zigbee import aps, mac, nwk
from harness.zigbee.auxsec import KeyId, SecurityHeader

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
eui64s = st.binary(min_size=8, max_size=8).map(lambda raw: EUI64.deserialize(raw)[0])
keys = st.binary(min_size=16, max_size=16).map(KeyData)
raw_keys = st.binary(min_size=16, max_size=16)
capabilities = u8.map(mac.Capability)
levels = st.integers(1, 7)


def _unknown(ids_known: set[int], cls: type, max_size: int = 20) -> st.SearchStrategy:
    return st.builds(cls, st.integers(0, 0xFF).filter(lambda i: i not in ids_known), st.binary(max_size=max_size))


# --- MAC ----------------------------------------------------------------------------------------------------

mac_commands = st.one_of(
    st.builds(mac.AssociationRequest, capabilities),
    st.builds(mac.AssociationResponse, u16, u8),
    st.builds(mac.DisassociationNotification, u8),
    st.just(mac.DataRequest()),
    st.just(mac.PanIdConflictNotification()),
    st.just(mac.OrphanNotification()),
    st.just(mac.BeaconRequest()),
    st.builds(mac.CoordinatorRealignment, u16, u16, u8, u16, st.none() | u8),
    _unknown({1, 2, 3, 4, 5, 6, 7, 8}, mac.UnknownMacCommand),
)

zigbee_beacon_payloads = st.builds(
    mac.ZigbeeBeaconPayload,
    extended_pan_id=eui64s,
    stack_profile=st.integers(0, 15),
    protocol_version=st.integers(0, 15),
    router_capacity=st.booleans(),
    device_depth=st.integers(0, 15),
    end_device_capacity=st.booleans(),
    tx_offset=st.integers(0, 0xFFFFFF),
    update_id=u8,
)

superframes = st.builds(
    mac.SuperframeSpec, st.integers(0, 15), st.integers(0, 15), st.integers(0, 15), st.booleans(), st.booleans(),
    st.booleans(),
)

beacons = st.builds(
    mac.Beacon,
    superframe=superframes,
    payload=zigbee_beacon_payloads
    | st.binary(max_size=30).filter(lambda b: not (len(b) == 15 and b[0] == 0)),
    gts_permit=st.booleans(),
    gts_list=st.just(b"") | st.integers(1, 7).flatmap(lambda n: st.binary(min_size=1 + 3 * n, max_size=1 + 3 * n)),
    pending_short=st.lists(u16, max_size=7).map(tuple),
    pending_long=st.lists(eui64s, max_size=7).map(tuple),
)

addresses = st.none() | u16 | eui64s


@st.composite
def mac_frames(draw: st.DrawFn, frame_type: mac.MacFrameType | None = None) -> mac.MacFrame:
    kind = frame_type if frame_type is not None else draw(st.sampled_from(list(mac.MacFrameType)))
    dst, src = draw(addresses), draw(addresses)
    compressed = dst is not None and src is not None and draw(st.booleans())
    payload = {
        mac.MacFrameType.DATA: st.binary(max_size=100),
        mac.MacFrameType.COMMAND: mac_commands,
        mac.MacFrameType.BEACON: beacons,
        mac.MacFrameType.ACK: st.just(b""),
    }[kind]
    return mac.MacFrame(
        frame_type=kind,
        seq=draw(u8),
        dst_pan=None if dst is None else draw(u16),
        dst=dst,
        src_pan=None if src is None or compressed else draw(u16),
        src=src,
        payload=draw(payload),
        ack_request=draw(st.booleans()),
        frame_pending=draw(st.booleans()),
        pan_id_compression=compressed,
        frame_version=draw(st.sampled_from([0, 1])),
    )


# --- NWK ----------------------------------------------------------------------------------------------------

nwk_commands = st.one_of(
    st.builds(nwk.NetworkStatus, u8, u16),
    st.builds(nwk.Leave, st.booleans(), st.booleans(), st.booleans()),
    st.builds(nwk.RejoinRequest, capabilities),
    st.builds(nwk.RejoinResponse, u16, u8),
    st.builds(nwk.EndDeviceTimeoutRequest, u8, u8),
    st.builds(nwk.EndDeviceTimeoutResponse, u8, u8),
    _unknown({3, 4, 6, 7, 11, 12}, nwk.UnknownNwkCommand),
)


@st.composite
def nwk_frames(draw: st.DrawFn, secured: bool | None = None, kind: nwk.NwkFrameType | None = None) -> nwk.NwkFrame:
    kind = kind if kind is not None else draw(st.sampled_from(list(nwk.NwkFrameType)))
    src_ieee = draw(st.none() | eui64s)
    security = None
    if secured if secured is not None else draw(st.booleans()):
        # The nonce needs a source: the aux header's, or else the NWK source IEEE address.
        source = draw(eui64s) if src_ieee is None else draw(st.none() | eui64s)
        security = SecurityHeader(KeyId.NETWORK, draw(u32), source, draw(u8), draw(levels))
    relays = draw(st.none() | st.tuples(u8, st.lists(u16, max_size=5)))
    return nwk.NwkFrame(
        frame_type=kind,
        dst=draw(u16),
        src=draw(u16),
        radius=draw(u8),
        seq=draw(u8),
        payload=draw(st.binary(max_size=80) if kind is nwk.NwkFrameType.DATA else nwk_commands),
        dst_ieee=draw(st.none() | eui64s),
        src_ieee=src_ieee,
        security=security,
        discover_route=draw(st.integers(0, 3)),
        multicast_control=draw(st.none() | u8),
        source_route=None if relays is None else nwk.SourceRoute(relays[0], tuple(relays[1])),
        end_device_initiator=draw(st.booleans()),
        protocol_version=draw(st.integers(0, 15)),
    )


# --- APS ----------------------------------------------------------------------------------------------------

aps_commands = st.one_of(
    st.builds(aps.TransportNetworkKey, keys, u8, eui64s, eui64s),
    st.builds(aps.TransportTcLinkKey, keys, eui64s, eui64s),
    st.builds(aps.TransportAppLinkKey, keys, eui64s, st.booleans()),
    st.builds(aps.UpdateDevice, eui64s, u16, u8),
    st.builds(aps.RemoveDevice, eui64s),
    u8.filter(lambda k: k != 2).map(lambda k: aps.RequestKey(k)),
    eui64s.map(lambda partner: aps.RequestKey(2, partner)),
    st.builds(aps.SwitchKey, u8),
    st.builds(aps.VerifyKey, u8, eui64s, st.binary(min_size=16, max_size=16)),
    st.builds(aps.ConfirmKey, u8, u8, eui64s),
    _unknown({5, 6, 7, 8, 9, 15, 16}, aps.UnknownApsCommand),
)


@st.composite
def aps_security(draw: st.DrawFn) -> SecurityHeader:
    key_id = draw(st.sampled_from(list(KeyId)))
    return SecurityHeader(key_id, draw(u32), draw(st.none() | eui64s),
                          draw(u8) if key_id is KeyId.NETWORK else None, draw(levels))


@st.composite
def aps_frames(draw: st.DrawFn, secured: bool | None = None, kind: aps.ApsFrameType | None = None) -> aps.ApsFrame:
    kind = kind if kind is not None else draw(st.sampled_from(list(aps.ApsFrameType)))
    fields: dict[str, object] = {}
    ack_format = False
    delivery = aps.DeliveryMode.UNICAST
    if kind is aps.ApsFrameType.DATA:
        delivery = draw(st.sampled_from(list(aps.DeliveryMode)))
        fields["group" if delivery is aps.DeliveryMode.GROUP else "dst_endpoint"] = draw(
            u16 if delivery is aps.DeliveryMode.GROUP else u8)
    elif kind is aps.ApsFrameType.ACK:
        ack_format = draw(st.booleans())
        delivery = draw(st.sampled_from([aps.DeliveryMode.UNICAST, aps.DeliveryMode.BROADCAST]))
        if not ack_format:
            fields["dst_endpoint"] = draw(u8)
    if "dst_endpoint" in fields or "group" in fields:
        fields.update(cluster_id=draw(u16), profile_id=draw(u16), src_endpoint=draw(u8))
    fragmentation = draw(st.none() | st.integers(0, 2))
    extended = None
    if fragmentation is not None:
        fragmented = fragmentation != 0
        extended = aps.ExtendedHeader(
            fragmentation,
            draw(u8) if fragmented else None,
            draw(u8) if fragmented and kind is aps.ApsFrameType.ACK else None,
        )
    security = None
    if secured if secured is not None else draw(st.booleans()):
        security = draw(aps_security())
    payload = {
        aps.ApsFrameType.DATA: st.binary(max_size=80),
        aps.ApsFrameType.COMMAND: aps_commands,
        aps.ApsFrameType.ACK: st.just(b""),
    }[kind]
    return aps.ApsFrame(
        frame_type=kind,
        counter=draw(u8),
        payload=draw(payload),
        delivery_mode=delivery,
        ack_request=draw(st.booleans()),
        ack_format=ack_format,
        extended_header=extended,
        security=security,
        **fields,  # type: ignore[arg-type]
    )
