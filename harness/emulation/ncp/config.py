"""Configuration and value handlers of the emulated NCP (getConfigurationValue / setConfigurationValue,
getValue / setValue / getExtendedValue), answered as EmberZNet does (tables and sources in values.py and ram.py).

A feature mixin (e.g. cbke.py) may answer some value ids itself by defining `<feature>_get_value(value_id)` and
`<feature>_set_value(value_id, value)` returning the response dict, or None for ids it does not own; they are
consulted before the table here.

UG100 getConfigurationValue: EZSP_ERROR_INVALID_ID (v14+ SL_STATUS_ZIGBEE_EZSP_ERROR) for an id the NCP does
not know. setConfigurationValue: EZSP_ERROR_INVALID_ID for an unknown id, EZSP_ERROR_INVALID_CALL once the
network is up ("configuration values can no longer be modified"), EZSP_ERROR_INVALID_VALUE for a value out of
range (table sizes are bounded by what fits in the NCP's RAM).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import bellows.types as t

from harness.emulation.ncp import values as v
from harness.emulation.ncp.nvstate import NvState
from harness.emulation.ncp.ram import CONFIG_LIMITS, NcpRam

OK = t.sl_Status.OK
E = t.EzspStatus


@functools.cache
def _value_hook_names(cls: type, suffix: str) -> tuple[str, ...]:
    """The methods of `cls` named *<suffix> (other handler mixins' getValue/setValue hooks), in name order. Per
    class, not per call: sorted(dir()) of the NCP's class took ~20 us, five times a premises."""
    return tuple(name for name in sorted(dir(cls))
                 if name.endswith(suffix) and not name.startswith("_") and name != f"cmd{suffix}")


class ConfigHandlers:
    """Mixin of EmulatedNcp."""

    nv: NvState
    _ram: NcpRam
    version: int
    _version_info: Callable[[], bytes]  # provided by EmulatedNcp

    def cmd_getConfigurationValue(self, p: dict) -> dict:
        config_id = int(p["configId"])
        if config_id not in self._ram.config:
            return {"status": E.ERROR_INVALID_ID, "value": 0}
        return {"status": OK, "value": self._ram.config[config_id]}

    def cmd_setConfigurationValue(self, p: dict) -> dict:
        config_id, value = int(p["configId"]), int(p["value"])
        if config_id not in self._ram.config:
            return {"status": E.ERROR_INVALID_ID}
        if self._ram.network_up:
            return {"status": E.ERROR_INVALID_CALL}
        low, high = CONFIG_LIMITS.get(config_id, (0, 0xFFFF))
        if not low <= value <= high:
            return {"status": E.ERROR_INVALID_VALUE}
        self._ram.config[config_id] = value
        return {"status": OK}

    def _read_value(self, value_id: int) -> bytes:
        if value_id == t.EzspValueId.VALUE_VERSION_INFO:
            return self._version_info()
        if value_id == t.EzspValueId.VALUE_FREE_BUFFERS:
            return bytes([v.FREE_BUFFERS])
        if value_id == t.EzspValueId.VALUE_NWK_FRAME_COUNTER:
            return t.uint32_t(self.nv.nwk_frame_counter).serialize()
        if value_id == t.EzspValueId.VALUE_APS_FRAME_COUNTER:
            return t.uint32_t(self.nv.aps_frame_counter).serialize()
        if value_id == t.EzspValueId.VALUE_NODE_SHORT_ID:
            node_id = self.nv.node_id if self._ram.network_up else 0xFFFE
            return t.uint16_t(node_id).serialize()
        if value_id in self._ram.values:
            return self._ram.values[value_id]
        return v.VALUES[value_id].default

    def _value_hooks(self, kind: str) -> list:
        return [getattr(self, name) for name in _value_hook_names(type(self), f"_{kind}_value")]

    def cmd_getValue(self, p: dict) -> dict:
        for hook in self._value_hooks("get"):
            answer = hook(p["valueId"])
            if answer is not None:
                return answer
        value_id = int(p["valueId"])
        spec = v.value_spec(value_id)
        if spec is None or not spec.readable:
            return {"status": E.ERROR_INVALID_ID, "value": b""}
        return {"status": OK, "value": self._read_value(value_id)}

    def cmd_setValue(self, p: dict) -> dict:
        for hook in self._value_hooks("set"):
            answer = hook(p["valueId"], bytes(p["value"]))
            if answer is not None:
                return answer
        value_id, value = int(p["valueId"]), bytes(p["value"])
        spec = v.value_spec(value_id)
        if spec is None:
            return {"status": E.ERROR_INVALID_ID}
        if not spec.writable:
            return {"status": E.ERROR_INVALID_CALL}
        if spec.size and len(value) != spec.size:
            return {"status": E.ERROR_INVALID_VALUE}
        if value_id == t.EzspValueId.VALUE_NWK_FRAME_COUNTER:
            self.nv.nwk_frame_counter = int.from_bytes(value, "little")
        elif value_id == t.EzspValueId.VALUE_APS_FRAME_COUNTER:
            self.nv.aps_frame_counter = int.from_bytes(value, "little")
        elif value_id == t.EzspValueId.VALUE_ENDPOINT_FLAGS:
            if value[0] not in self._ram.endpoints:
                return {"status": E.ERROR_INVALID_VALUE}
            self._ram.endpoint_flags[value[0]] = int.from_bytes(value[1:3], "little")
            return {"status": OK}
        elif value_id in (t.EzspValueId.VALUE_SET_COUNTER_THRESHOLD, t.EzspValueId.VALUE_RESET_COUNTER_THRESHOLDS,
                          t.EzspValueId.VALUE_CLEAR_COUNTERS):  # fmt: skip
            return {"status": OK}  # counters are always zero here (docs/emulated-ncp.md)
        self._ram.values[value_id] = value
        return {"status": OK}

    def cmd_getExtendedValue(self, p: dict) -> dict:
        value_id, characteristics = int(p["valueId"]), int(p["characteristics"])
        if value_id == t.EzspExtendedValueId.EXTENDED_VALUE_ENDPOINT_FLAGS:
            if characteristics not in self._ram.endpoints:
                # The firmware keeps the 2-byte length on failure: herdsman registers its endpoints only after
                # this answer and rejects a shorter one (ezsp.ts ezspGetEndpointFlags).
                return {"status": E.ERROR_INVALID_VALUE, "value": b"\x00\x00"}
            flags = self._ram.endpoint_flags.get(characteristics, v.EZSP_ENDPOINT_ENABLED)
            return {"status": OK, "value": t.uint16_t(flags).serialize()}
        if value_id == t.EzspExtendedValueId.EXTENDED_VALUE_LAST_LEAVE_REASON:
            return {"status": OK, "value": bytes([v.EMBER_LEAVE_REASON_NONE]) + t.uint16_t(0xFFFF).serialize()}
        if value_id == t.EzspExtendedValueId.EXTENDED_VALUE_GET_SOURCE_ROUTE_OVERHEAD:
            return {"status": OK, "value": bytes([v.SOURCE_ROUTE_OVERHEAD_UNKNOWN])}
        if value_id == t.EzspExtendedValueId.EXTENDED_VALUE_MEMORY_USAGE_DATA:
            return {"status": OK, "value": t.uint32_t(0).serialize()}
        return {"status": E.ERROR_INVALID_ID, "value": b""}

