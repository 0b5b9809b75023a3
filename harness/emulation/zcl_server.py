"""A ZCL server endpoint for emulated devices: attribute values, Read Attributes, Default Response.

Attribute types come from zigpy's cluster definitions (zigpy.zcl.Cluster registry: Basic, Metering, ...), so the
bytes on air are exactly what zigpy parses on the harness side. A cluster zigpy only stubs (most SE clusters)
can still hold attributes if the caller gives their ZCL type explicitly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import zigpy.types as t
import zigpy.zcl as zcl
from zigpy.zcl import foundation

__all__ = ["SE_PROFILE", "ZclEndpoint"]

LOGGER = logging.getLogger(__name__)

SE_PROFILE = 0x0109


@dataclass
class _Attribute:
    zcl_type: int
    python_type: type
    value: Any


@dataclass
class ZclEndpoint:
    """One application endpoint: its simple-descriptor facts and its server clusters' attributes."""

    endpoint: int
    profile_id: int = SE_PROFILE
    device_type: int = 0x0501  # SE Metering device
    device_version: int = 0
    input_clusters: list[int] = field(default_factory=list)
    output_clusters: list[int] = field(default_factory=list)
    _attributes: dict[tuple[int, int], _Attribute] = field(default_factory=dict, repr=False)

    def set_attribute(self, cluster_id: int, attribute: int | str, value: Any,
                      zcl_type: int | None = None) -> None:
        """Set (or add) an attribute; by name or id for clusters zigpy defines, or by id + zcl_type."""
        cluster_cls = zcl.Cluster._registry.get(cluster_id)
        definition = None
        if cluster_cls is not None:
            if isinstance(attribute, str):
                try:
                    definition = cluster_cls.attributes_by_name[attribute]
                except KeyError:
                    raise KeyError(f"cluster 0x{cluster_id:04X} has no attribute named {attribute!r}") from None
            else:
                definition = cluster_cls.attributes.get(attribute)
        if definition is not None:
            attr_id, zcl_type, python_type = definition.id, int(definition.zcl_type), definition.type
        else:
            if isinstance(attribute, str) or zcl_type is None:
                raise KeyError(f"cluster 0x{cluster_id:04X} attribute {attribute!r}: unknown to zigpy, give its id "
                               "and zcl_type")
            attr_id = attribute
            python_type = foundation.DataType.from_type_id(zcl_type).python_type
        if cluster_id not in self.input_clusters:
            self.input_clusters.append(cluster_id)
        self._attributes[(cluster_id, attr_id)] = _Attribute(zcl_type, python_type, python_type(value))

    def get_attribute(self, cluster_id: int, attribute: int | str) -> Any:
        attr_id = attribute
        if isinstance(attribute, str):
            attr_id = zcl.Cluster._registry[cluster_id].attributes_by_name[attribute].id
        return self._attributes[(cluster_id, attr_id)].value  # type: ignore[index]

    # -- requests ------------------------------------------------------------------------------------------

    def handle(self, cluster_id: int, payload: bytes) -> bytes | None:
        """Answer one ZCL frame addressed to this endpoint; returns the reply frame or None."""
        try:
            header, rest = foundation.ZCLHeader.deserialize(payload)
        except (ValueError, KeyError) as exc:
            LOGGER.debug("endpoint %d: undecodable ZCL frame %s: %s", self.endpoint, payload.hex(), exc)
            return None
        if header.direction != foundation.Direction.Client_to_Server:
            return None
        if cluster_id not in self.input_clusters:
            return self._default_response(header, foundation.Status.UNSUPPORTED_CLUSTER)
        if header.frame_control.is_general and header.command_id == foundation.GeneralCommand.Read_Attributes:
            schema = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes].schema
            request, _ = schema.deserialize(rest)
            return self._read_attributes_response(header, cluster_id, list(request.attribute_ids))
        status = (
            foundation.Status.UNSUP_GENERAL_COMMAND
            if header.frame_control.is_general
            else foundation.Status.UNSUP_CLUSTER_COMMAND
        )
        return self._default_response(header, status)

    def _reply_header(self, request: foundation.ZCLHeader, command_id: int) -> bytes:
        reply = foundation.ZCLHeader.general(
            request.tsn, command_id, request.manufacturer, direction=foundation.Direction.Server_to_Client
        )
        return reply.serialize()

    def _read_attributes_response(self, header: foundation.ZCLHeader, cluster_id: int,
                                  attribute_ids: list[int]) -> bytes:
        records = []
        for attr_id in attribute_ids:
            attribute = self._attributes.get((cluster_id, attr_id))
            if attribute is None:
                records.append(foundation.ReadAttributeRecord(attrid=attr_id,
                                                              status=foundation.Status.UNSUPPORTED_ATTRIBUTE))
                continue
            value = foundation.TypeValue(type=attribute.zcl_type, value=attribute.value)
            records.append(foundation.ReadAttributeRecord(attrid=attr_id, status=foundation.Status.SUCCESS,
                                                          value=value))
        body = b"".join(record.serialize() for record in records)
        return self._reply_header(header, foundation.GeneralCommand.Read_Attributes_rsp) + body

    def _default_response(self, header: foundation.ZCLHeader, status: foundation.Status) -> bytes | None:
        if header.frame_control.disable_default_response:
            return None
        return (
            self._reply_header(header, foundation.GeneralCommand.Default_Response)
            + t.uint8_t(header.command_id).serialize()
            + t.uint8_t(status).serialize()
        )
