"""ZCL payloads encoded and decoded through zigpy's own types (zigpy.zcl.foundation and its cluster classes).

A ZCL frame is zigpy's ZCLHeader followed by the command's schema: the profile-wide commands from
foundation.GENERAL_COMMANDS, cluster-specific ones from the zigpy cluster class registered for the cluster id
(direction client->server: the cluster's server_commands; server->client: its client_commands, as zigpy's own
Cluster.deserialize picks them). Unknown commands keep their payload bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import zigpy.types as t
import zigpy.zcl
from zigpy.zcl import foundation

from harness.errors import DecodeError

__all__ = [
    "ZclMessage",
    "read_attributes",
    "read_attributes_response",
    "attribute_value",
    "attribute_failure",
]


@dataclass(frozen=True)
class ZclMessage:
    """One ZCL frame: zigpy's header and the decoded command (a zigpy schema instance), or bytes if unknown."""

    header: foundation.ZCLHeader
    command: Any

    @property
    def command_id(self) -> int:
        return int(self.header.command_id)

    @property
    def tsn(self) -> int:
        return int(self.header.tsn)

    @property
    def is_general(self) -> bool:
        return self.header.frame_control.frame_type == foundation.FrameType.GLOBAL_COMMAND

    def to_bytes(self) -> bytes:
        body = self.command if isinstance(self.command, bytes) else self.command.serialize()
        return self.header.serialize() + body

    @classmethod
    def from_bytes(cls, cluster_id: int, data: bytes) -> "ZclMessage":
        data = bytes(data)
        try:
            header, rest = foundation.ZCLHeader.deserialize(data)
        except Exception as exc:  # noqa: BLE001 - zigpy's parsers raise assorted types on garbage
            raise DecodeError(f"ZCL frame (cluster 0x{cluster_id:04X}): {len(data)} bytes, bad header ({exc})") from None
        definition = _command_definition(cluster_id, header)
        if definition is None:
            return cls(header, rest)
        try:
            command, _trailing = definition.schema.deserialize(rest)
        except Exception as exc:  # noqa: BLE001 - zigpy's parsers raise assorted types on garbage
            raise DecodeError(f"ZCL {definition.name} (cluster 0x{cluster_id:04X}): payload at offset "
                              f"{len(data) - len(rest)} does not decode ({exc})") from None
        return cls(header, command)


def _command_definition(cluster_id: int, header: foundation.ZCLHeader) -> foundation.ZCLCommandDef | None:
    if header.frame_control.frame_type == foundation.FrameType.GLOBAL_COMMAND:
        if header.command_id not in foundation.GENERAL_COMMANDS:
            return None
        return foundation.GENERAL_COMMANDS[foundation.GeneralCommand(header.command_id)]
    if header.frame_control.is_manufacturer_specific:
        return None
    cluster = zigpy.zcl.Cluster._registry.get(cluster_id)  # zigpy's cluster-id registry (pinned zigpy)
    if cluster is None:
        return None
    commands = cluster.client_commands if header.direction == foundation.Direction.Server_to_Client else \
        cluster.server_commands
    return commands.get(header.command_id)


def read_attributes(tsn: int, attribute_ids: Sequence[int], *, manufacturer: int | None = None) -> ZclMessage:
    definition = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes]
    header = foundation.ZCLHeader.general(tsn, definition.id, manufacturer=manufacturer)
    return ZclMessage(header, definition.schema(attribute_ids=[t.uint16_t(a) for a in attribute_ids]))


def attribute_value(attribute_id: int, data_type: int, value: Any) -> foundation.ReadAttributeRecord:
    """A successful read record; `data_type` is the ZCL type id (e.g. 0x25 = uint48)."""
    return foundation.ReadAttributeRecord(attrid=attribute_id, status=foundation.Status.SUCCESS,
                                          value=foundation.TypeValue(type=data_type, value=value))


def attribute_failure(attribute_id: int, status: foundation.Status) -> foundation.ReadAttributeRecord:
    return foundation.ReadAttributeRecord(attrid=attribute_id, status=status)


def read_attributes_response(tsn: int, records: Sequence[foundation.ReadAttributeRecord], *,
                             manufacturer: int | None = None) -> ZclMessage:
    """Server -> client with default response disabled (frame control 0x18), as servers answer reads."""
    definition = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes_rsp]
    header = foundation.ZCLHeader.general(tsn, definition.id, manufacturer=manufacturer,
                                          direction=foundation.Direction.Server_to_Client)
    return ZclMessage(header, definition.schema(status_records=list(records)))
