"""The coordinator's own ZDO, which a real NCP answers locally when the host unicasts to itself (0x0000).

zigpy interviews the coordinator at startup (Node_Desc_req to 0x0000, research/ezsp.md 2.3 step 14); a real
EmberZNet NCP loops that back to its own ZDO. Requests and responses are (de)serialised with zigpy's ZDO schemas
(`zigpy.zdo.types.CLUSTERS`), nothing is declared here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import zigpy.types as zt
import zigpy.zdo.types as zdo_t

ZDO_PROFILE = 0x0000
ZDO_ENDPOINT = 0x00

# EmberZNet's coordinator node descriptor: coordinator on 2.4 GHz, mains-powered FFD that allocates addresses,
# manufacturer 0x1002 (Ember), server mask = primary trust centre + network manager, stack compliance rev 22.
EMBER_MANUFACTURER_CODE = 0x1002
_SERVER_MASK = 0x2C41


@dataclass
class LocalEndpoint:
    """An endpoint the host registered with addEndpoint."""

    endpoint: int
    profile: int
    device_type: int
    device_version: int
    input_clusters: list[int] = field(default_factory=list)
    output_clusters: list[int] = field(default_factory=list)


def node_descriptor(manufacturer_code: int = EMBER_MANUFACTURER_CODE) -> zdo_t.NodeDescriptor:
    return zdo_t.NodeDescriptor(
        logical_type=zdo_t.LogicalType.Coordinator,
        complex_descriptor_available=0,
        user_descriptor_available=0,
        reserved=0,
        aps_flags=0,
        frequency_band=zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz,
        mac_capability_flags=(
            zdo_t.NodeDescriptor.MACCapabilityFlags.AlternatePanCoordinator
            | zdo_t.NodeDescriptor.MACCapabilityFlags.FullFunctionDevice
            | zdo_t.NodeDescriptor.MACCapabilityFlags.MainsPowered
            | zdo_t.NodeDescriptor.MACCapabilityFlags.RxOnWhenIdle
            | zdo_t.NodeDescriptor.MACCapabilityFlags.AllocateAddress
        ),
        manufacturer_code=manufacturer_code,
        maximum_buffer_size=82,
        maximum_incoming_transfer_size=128,
        server_mask=_SERVER_MASK,
        maximum_outgoing_transfer_size=128,
        descriptor_capability_field=zdo_t.NodeDescriptor.DescriptorCapability.NONE,
    )


def _parse(cluster: int, payload: bytes) -> tuple[int, list]:
    tsn, rest = zt.uint8_t.deserialize(payload)
    args = []
    schema = zdo_t.CLUSTERS.get(cluster)
    if schema is None:
        return tsn, args
    _, types = schema
    for typ in types:
        value, rest = typ.deserialize(rest)
        args.append(value)
    return tsn, args


def _build(cluster: int, tsn: int, values: list) -> bytes:
    _, types = zdo_t.CLUSTERS[cluster]
    out = bytes([tsn])
    for typ, value in zip(types, values, strict=False):
        if value is None:
            break  # trailing optional fields left out
        out += typ(value).serialize()
    return out


def answer(
    cluster: int,
    payload: bytes,
    *,
    nwk: int,
    ieee: zt.EUI64,
    endpoints: dict[int, LocalEndpoint],
    manufacturer_code: int = EMBER_MANUFACTURER_CODE,
) -> tuple[int, bytes] | None:
    """(response cluster, response payload) for a ZDO request to ourselves, or None if it needs no answer."""
    if cluster & 0x8000:
        return None  # a response addressed to us: nothing to answer
    tsn, args = _parse(cluster, payload)
    rsp = cluster | 0x8000
    ok = zdo_t.Status.SUCCESS
    try:
        cmd = zdo_t.ZDOCmd(cluster)
    except ValueError:
        return rsp, bytes([tsn, zdo_t.Status.NOT_SUPPORTED])
    if cmd == zdo_t.ZDOCmd.Node_Desc_req:
        return rsp, _build(rsp, tsn, [ok, nwk, node_descriptor(manufacturer_code)])
    if cmd == zdo_t.ZDOCmd.Active_EP_req:
        return rsp, _build(rsp, tsn, [ok, nwk, sorted(endpoints)])
    if cmd == zdo_t.ZDOCmd.Simple_Desc_req:
        ep = endpoints.get(int(args[1]))
        if ep is None:
            return rsp, _build(rsp, tsn, [zdo_t.Status.NOT_ACTIVE, nwk, None])
        desc = zdo_t.SizePrefixedSimpleDescriptor(
            endpoint=ep.endpoint,
            profile=ep.profile,
            device_type=ep.device_type,
            device_version=ep.device_version,
            input_clusters=ep.input_clusters,
            output_clusters=ep.output_clusters,
        )
        return rsp, _build(rsp, tsn, [ok, nwk, desc])
    if cmd in (zdo_t.ZDOCmd.IEEE_addr_req, zdo_t.ZDOCmd.NWK_addr_req):
        return rsp, _build(rsp, tsn, [ok, ieee, nwk, None])
    if cmd == zdo_t.ZDOCmd.Mgmt_Permit_Joining_req:
        return rsp, _build(rsp, tsn, [ok])
    return rsp, bytes([tsn, zdo_t.Status.NOT_SUPPORTED])
