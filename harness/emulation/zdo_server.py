"""The ZDO server of an emulated node (endpoint 0, profile 0): descriptors, Device_annce, leave, permit joining.

Requests and responses are (de)serialised with zigpy.zdo.types (ZDOCmd, CLUSTERS, NodeDescriptor,
SizePrefixedSimpleDescriptor), the same types zigpy uses on the harness side of the NCP.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import zigpy.types as t
import zigpy.zdo.types as zdo_t

from harness.emulation.zcl_server import ZclEndpoint

__all__ = ["ZDO_PROFILE", "ZdoReply", "ZdoServer", "zdo_frame", "parse_zdo_frame", "node_descriptor"]

LOGGER = logging.getLogger(__name__)

ZDO_PROFILE = 0x0000
ZDO_ENDPOINT = 0

Caps = zdo_t.NodeDescriptor.MACCapabilityFlags


def zdo_frame(command: zdo_t.ZDOCmd, tsn: int, *args: object) -> bytes:
    """A ZDO frame: TSN then the command's fields as zigpy declares them."""
    _, types = zdo_t.CLUSTERS[command]
    return t.uint8_t(tsn).serialize() + t.serialize(list(args), types)


def parse_zdo_frame(cluster_id: int, data: bytes) -> tuple[int, list[object]]:
    """(tsn, fields) of a ZDO frame; ValueError/KeyError if the cluster is unknown or the body short."""
    _, types = zdo_t.CLUSTERS[zdo_t.ZDOCmd(cluster_id)]
    tsn, rest = t.uint8_t.deserialize(data)
    args, _ = t.deserialize(rest, types)
    return int(tsn), list(args)


def node_descriptor(logical_type: zdo_t.LogicalType, capability: Caps, manufacturer_code: int) -> zdo_t.NodeDescriptor:
    return zdo_t.NodeDescriptor(
        logical_type=logical_type,
        complex_descriptor_available=0,
        user_descriptor_available=0,
        reserved=0,
        aps_flags=0,
        frequency_band=zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz,
        mac_capability_flags=capability,
        manufacturer_code=manufacturer_code,
        maximum_buffer_size=82,
        maximum_incoming_transfer_size=128,
        server_mask=0x2C00,  # stack compliance revision 22
        maximum_outgoing_transfer_size=128,
        descriptor_capability_field=0,
    )


@dataclass(frozen=True)
class ZdoReply:
    cluster_id: int
    payload: bytes


@dataclass
class ZdoServer:
    """Answers ZDO requests for one node. `on_leave(rejoin)` and `on_permit(seconds)` are the node's actions."""

    nwk: Callable[[], int]
    eui64: Callable[[], t.EUI64]
    descriptor: zdo_t.NodeDescriptor
    endpoints: dict[int, ZclEndpoint] = field(default_factory=dict)
    on_leave: Callable[[bool], None] | None = None
    on_permit: Callable[[int], None] | None = None

    def handle(self, cluster_id: int, payload: bytes, *, broadcast: bool = False) -> ZdoReply | None:
        try:
            command = zdo_t.ZDOCmd(cluster_id)
            tsn, args = parse_zdo_frame(cluster_id, payload)
        except (ValueError, KeyError) as exc:
            LOGGER.debug("ZDO: ignoring cluster 0x%04X payload %s: %s", cluster_id, payload.hex(), exc)
            return None
        nwk = t.NWK(self.nwk())
        ok = zdo_t.Status.SUCCESS
        if command == zdo_t.ZDOCmd.Node_Desc_req:
            return self._reply(zdo_t.ZDOCmd.Node_Desc_rsp, tsn, ok, nwk, self.descriptor)
        if command == zdo_t.ZDOCmd.Active_EP_req:
            return self._reply(zdo_t.ZDOCmd.Active_EP_rsp, tsn, ok, nwk, sorted(self.endpoints))
        if command == zdo_t.ZDOCmd.Simple_Desc_req:
            endpoint = self.endpoints.get(int(args[1]))
            if endpoint is None:
                return self._reply(zdo_t.ZDOCmd.Simple_Desc_rsp, tsn, zdo_t.Status.NOT_ACTIVE, nwk, None)
            descriptor = zdo_t.SizePrefixedSimpleDescriptor(
                endpoint=endpoint.endpoint,
                profile=endpoint.profile_id,
                device_type=endpoint.device_type,
                device_version=endpoint.device_version,
                input_clusters=sorted(endpoint.input_clusters),
                output_clusters=sorted(endpoint.output_clusters),
            )
            return self._reply(zdo_t.ZDOCmd.Simple_Desc_rsp, tsn, ok, nwk, descriptor)
        if command == zdo_t.ZDOCmd.Mgmt_Leave_req:
            target, options = args
            if target not in (self.eui64(), t.EUI64.convert("00:00:00:00:00:00:00:00")):
                return self._reply(zdo_t.ZDOCmd.Mgmt_Leave_rsp, tsn, zdo_t.Status.INVALID_REQUEST)
            rejoin = bool(int(options) & 0x80)  # bit 7 rejoin, bit 6 remove children (ZigBee 2.4.3.3.5)
            if self.on_leave is not None:
                self.on_leave(rejoin)
            return self._reply(zdo_t.ZDOCmd.Mgmt_Leave_rsp, tsn, ok)
        if command == zdo_t.ZDOCmd.Mgmt_Permit_Joining_req:
            if self.on_permit is not None:
                self.on_permit(int(args[0]))
            if broadcast:
                return None
            return self._reply(zdo_t.ZDOCmd.Mgmt_Permit_Joining_rsp, tsn, ok)
        if command & 0x8000:  # a response to something we sent; not ours to answer
            return None
        if broadcast:
            return None
        # ZigBee 2.4.3: an unsupported request is answered with NOT_SUPPORTED (status-only response).
        response = zdo_t.ZDOCmd(command | 0x8000) if (command | 0x8000) in zdo_t.ZDOCmd._value2member_map_ else None
        if response is None:
            return None
        return ZdoReply(int(response), t.uint8_t(tsn).serialize() + t.uint8_t(zdo_t.Status.NOT_SUPPORTED).serialize())

    def _reply(self, command: zdo_t.ZDOCmd, tsn: int, *args: object) -> ZdoReply:
        return ZdoReply(int(command), zdo_frame(command, tsn, *args))

    def device_annce(self, tsn: int, capability: Caps) -> ZdoReply:
        return self._reply(zdo_t.ZDOCmd.Device_annce, tsn, t.NWK(self.nwk()), self.eui64(), t.uint8_t(int(capability)))
