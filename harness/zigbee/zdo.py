"""ZDO payloads (APS profile 0x0000, endpoint 0) encoded and decoded through zigpy's own ZDO schema.

A ZDO frame is the transaction sequence number followed by the command's fields; zigpy.zdo.types.CLUSTERS
declares each command's field names and types, so nothing is re-declared here. The helpers build the commands
the emulated stack and the bench need (Device_annce, Node_Desc, Active_EP, Simple_Desc, Mgmt_Leave,
Mgmt_Permit_Joining).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import zigpy.types as t
from zigpy.types import EUI64
from zigpy.zdo.types import (
    CLUSTERS,
    NodeDescriptor,
    SimpleDescriptor,
    SizePrefixedSimpleDescriptor,
    Status,
    ZDOCmd,
)

from harness.errors import DecodeError
from harness.zigbee.mac import Capability

__all__ = [
    "ZDO_PROFILE",
    "ZDO_ENDPOINT",
    "ZdoMessage",
    "device_annce",
    "node_desc_req",
    "node_desc_rsp",
    "active_ep_req",
    "active_ep_rsp",
    "simple_desc_req",
    "simple_desc_rsp",
    "mgmt_leave_req",
    "mgmt_leave_rsp",
    "mgmt_permit_joining_req",
    "mgmt_permit_joining_rsp",
]

ZDO_PROFILE = 0x0000
ZDO_ENDPOINT = 0x00


@dataclass(frozen=True)
class ZdoMessage:
    """One ZDO command: its cluster (ZDOCmd), transaction sequence number and fields by zigpy's names."""

    command: ZDOCmd
    tsn: int
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def cluster_id(self) -> int:
        return int(self.command)

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def to_bytes(self) -> bytes:
        names, types = _schema(self.command)
        if set(self.fields) != set(names):
            raise ValueError(f"ZDO {self.command.name} needs fields {names}, got {sorted(self.fields)}")
        out = t.uint8_t(self.tsn).serialize()
        for name, type_ in zip(names, types):
            value = self.fields[name]
            if value is None:  # an Optional field left out (e.g. no descriptor in an error response)
                continue
            out += (value if isinstance(value, type_) else type_(value)).serialize()
        return out

    @classmethod
    def from_bytes(cls, cluster_id: int, data: bytes) -> "ZdoMessage":
        """Decode the payload of an APS frame on the ZDO profile with this cluster id."""
        data = bytes(data)
        if cluster_id not in CLUSTERS:
            raise DecodeError(f"ZDO frame: cluster 0x{cluster_id:04X} is not in zigpy's ZDO table")
        command = ZDOCmd(cluster_id)
        names, types = CLUSTERS[command]
        if not data:
            raise DecodeError(f"ZDO {command.name}: 0 bytes, need 1 for the transaction sequence number")
        try:
            values, _rest = t.deserialize(data[1:], types)
        except Exception as exc:  # noqa: BLE001 - zigpy's parsers raise assorted types on garbage
            raise DecodeError(f"ZDO {command.name}: {len(data)} bytes do not decode ({exc})") from None
        return cls(command, data[0], dict(zip(names, values)))


def _schema(command: ZDOCmd) -> tuple[list[str], list[type]]:
    if command not in CLUSTERS:
        raise ValueError(f"ZDO command 0x{int(command):04X} is not in zigpy's ZDO table")
    names, types = CLUSTERS[command]
    return list(names), list(types)


def device_annce(tsn: int, nwk: int, ieee: EUI64, capability: Capability | int) -> ZdoMessage:
    return ZdoMessage(ZDOCmd.Device_annce, tsn, {"NWKAddr": t.NWK(nwk), "IEEEAddr": ieee,
                                                 "Capability": t.uint8_t(int(capability))})


def node_desc_req(tsn: int, nwk: int) -> ZdoMessage:
    return ZdoMessage(ZDOCmd.Node_Desc_req, tsn, {"NWKAddrOfInterest": t.NWK(nwk)})


def node_desc_rsp(tsn: int, nwk: int, descriptor: NodeDescriptor | None, status: Status = Status.SUCCESS) -> ZdoMessage:
    return ZdoMessage(ZDOCmd.Node_Desc_rsp, tsn, {"Status": status, "NWKAddrOfInterest": t.NWK(nwk),
                                                  "NodeDescriptor": descriptor})


def active_ep_req(tsn: int, nwk: int) -> ZdoMessage:
    return ZdoMessage(ZDOCmd.Active_EP_req, tsn, {"NWKAddrOfInterest": t.NWK(nwk)})


def active_ep_rsp(tsn: int, nwk: int, endpoints: list[int], status: Status = Status.SUCCESS) -> ZdoMessage:
    return ZdoMessage(ZDOCmd.Active_EP_rsp, tsn, {"Status": status, "NWKAddrOfInterest": t.NWK(nwk),
                                                  "ActiveEPList": [t.uint8_t(ep) for ep in endpoints]})


def simple_desc_req(tsn: int, nwk: int, endpoint: int) -> ZdoMessage:
    return ZdoMessage(ZDOCmd.Simple_Desc_req, tsn, {"NWKAddrOfInterest": t.NWK(nwk),
                                                    "EndPoint": t.uint8_t(endpoint)})


def simple_desc_rsp(tsn: int, nwk: int, descriptor: SimpleDescriptor | None,
                    status: Status = Status.SUCCESS) -> ZdoMessage:
    """`descriptor` is a zigpy SimpleDescriptor; on air it is length-prefixed (SizePrefixedSimpleDescriptor)."""
    sized = None if descriptor is None else SizePrefixedSimpleDescriptor(**descriptor.as_dict())
    return ZdoMessage(ZDOCmd.Simple_Desc_rsp, tsn, {"Status": status, "NWKAddrOfInterest": t.NWK(nwk),
                                                    "SimpleDescriptor": sized})


def mgmt_leave_req(tsn: int, ieee: EUI64, *, rejoin: bool = False, remove_children: bool = False) -> ZdoMessage:
    """Options bitmap: bit 6 remove children, bit 7 rejoin (ZigBee spec 2.4.3.3.5)."""
    options = int(remove_children) << 6 | int(rejoin) << 7
    _names, types = CLUSTERS[ZDOCmd.Mgmt_Leave_req]
    return ZdoMessage(ZDOCmd.Mgmt_Leave_req, tsn, {"DeviceAddress": ieee, "Options": types[1](options)})


def mgmt_leave_rsp(tsn: int, status: Status = Status.SUCCESS) -> ZdoMessage:
    return ZdoMessage(ZDOCmd.Mgmt_Leave_rsp, tsn, {"Status": status})


def mgmt_permit_joining_req(tsn: int, duration: int, *, tc_significance: bool = True) -> ZdoMessage:
    _names, types = CLUSTERS[ZDOCmd.Mgmt_Permit_Joining_req]
    return ZdoMessage(ZDOCmd.Mgmt_Permit_Joining_req, tsn, {"PermitDuration": t.uint8_t(duration),
                                                            "TC_Significant": types[1](int(tc_significance))})


def mgmt_permit_joining_rsp(tsn: int, status: Status = Status.SUCCESS) -> ZdoMessage:
    return ZdoMessage(ZDOCmd.Mgmt_Permit_Joining_rsp, tsn, {"Status": status})
