"""EZSP values (getValue / setValue / getExtendedValue) as EmberZNet's NCP answers them.

Sizes: Silicon Labs UG100 "EZSP Reference Guide", EzspValueId / EzspExtendedValueId ("Configuration Frames" and the
value-id table), cross-checked against zigbee-herdsman's ember adapter (`ezsp.ts`, which asks for and checks
these exact lengths: VERSION_INFO 7 = sizeof(EmberVersion), ENDPOINT_FLAGS 2, LAST_LEAVE_REASON 3, ...).

Statuses (UG100 getValue / setValue / getExtendedValue):
* an id the NCP does not know: EZSP_ERROR_INVALID_ID (v14+: SL_STATUS_ZIGBEE_EZSP_ERROR), empty value;
* setValue with the wrong length: EZSP_ERROR_INVALID_VALUE; a read-only value: EZSP_ERROR_INVALID_CALL;
* getValue of a write-only value (a command in value form, e.g. CLEAR_COUNTERS): EZSP_ERROR_INVALID_ID.

Values not in this table are answered INVALID_ID, as by a build without that feature (RF4CE, PTA, mfglib).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import bellows.types as t

V = t.EzspValueId


@dataclass(frozen=True)
class ValueSpec:
    size: int  # bytes on the wire; 0 = variable (no length check)
    readable: bool = True
    writable: bool = True
    default: bytes = b""  # what a freshly reset NCP reports (RAM values)


# EzspValueId -> how EmberZNet stores it (UG100 value table; sizes confirmed by herdsman's lengths).
VALUES: Final[dict[int, ValueSpec]] = {
    V.VALUE_FREE_BUFFERS: ValueSpec(1, writable=False),
    V.VALUE_UART_SYNCH_CALLBACKS: ValueSpec(1, default=b"\x00"),
    V.VALUE_MAXIMUM_INCOMING_TRANSFER_SIZE: ValueSpec(2, default=(82).to_bytes(2, "little")),
    V.VALUE_MAXIMUM_OUTGOING_TRANSFER_SIZE: ValueSpec(2, default=(82).to_bytes(2, "little")),
    V.VALUE_STACK_TOKEN_WRITING: ValueSpec(1, default=b"\x01"),
    V.VALUE_STACK_IS_PERFORMING_REJOIN: ValueSpec(1, writable=False, default=b"\x00"),
    V.VALUE_EXTENDED_SECURITY_BITMASK: ValueSpec(2, default=b"\x00\x00"),
    V.VALUE_NODE_SHORT_ID: ValueSpec(2, writable=False),
    V.VALUE_DESCRIPTOR_CAPABILITY: ValueSpec(1, default=b"\x00"),
    V.VALUE_STACK_DEVICE_REQUEST_SEQUENCE_NUMBER: ValueSpec(1, default=b"\x00"),
    V.VALUE_RADIO_HOLD_OFF: ValueSpec(1, default=b"\x00"),
    V.VALUE_ENDPOINT_FLAGS: ValueSpec(3, readable=False),  # set: endpoint + flags u16; read via getExtendedValue
    V.VALUE_MFG_SECURITY_CONFIG: ValueSpec(2, default=b"\x00\x00"),
    V.VALUE_VERSION_INFO: ValueSpec(7, writable=False),  # EmberVersion: build u16, major, minor, patch, special, type
    V.VALUE_NEXT_HOST_REJOIN_REASON: ValueSpec(1, default=b"\x00"),
    V.VALUE_LAST_REJOIN_REASON: ValueSpec(1, writable=False, default=b"\x00"),
    V.VALUE_NEXT_ZIGBEE_SEQUENCE_NUMBER: ValueSpec(1, default=b"\x00"),
    V.VALUE_CCA_THRESHOLD: ValueSpec(1, default=b"\x00"),
    V.VALUE_SET_COUNTER_THRESHOLD: ValueSpec(3, readable=False),  # counter type + threshold u16
    V.VALUE_RESET_COUNTER_THRESHOLDS: ValueSpec(1, readable=False),
    V.VALUE_CLEAR_COUNTERS: ValueSpec(1, readable=False),
    # Suite-2 CBKE data (cbke.py answers these when present; without it the stick has no CBKE library).
    V.VALUE_CERTIFICATE_283K1: ValueSpec(74, readable=False),
    V.VALUE_PUBLIC_KEY_283K1: ValueSpec(37, readable=False),
    V.VALUE_PRIVATE_KEY_283K1: ValueSpec(36, readable=False),
    V.VALUE_NWK_FRAME_COUNTER: ValueSpec(4),
    V.VALUE_APS_FRAME_COUNTER: ValueSpec(4),
    V.VALUE_RETRY_DEVICE_TYPE: ValueSpec(1, default=b"\x00"),
    V.VALUE_ENABLE_R21_BEHAVIOR: ValueSpec(1, default=b"\x00"),
    V.VALUE_ANTENNA_MODE: ValueSpec(1, default=b"\x00"),
    V.VALUE_USE_NEGOTIATED_POWER_BY_LPD: ValueSpec(1, default=b"\x00"),
    V.VALUE_ANTENNA_RX_MODE: ValueSpec(1, default=b"\x00"),
    V.VALUE_NWK_KEY_TIMEOUT: ValueSpec(1, default=b"\x00"),
    V.VALUE_FORCE_TX_AFTER_FAILED_CCA_ATTEMPTS: ValueSpec(1, default=b"\x00"),
    V.VALUE_TRANSIENT_KEY_TIMEOUT_S: ValueSpec(2, default=(300).to_bytes(2, "little")),
    V.VALUE_MAX_BEACONS_TO_STORE: ValueSpec(1, default=b"\x10"),
    V.VALUE_END_DEVICE_TIMEOUT_OPTIONS_MASK: ValueSpec(2, default=b"\x00\x00"),
    V.VALUE_END_DEVICE_KEEP_ALIVE_SUPPORT_MODE: ValueSpec(1, default=b"\x03"),
    V.VALUE_ACTIVE_RADIO_CONFIG: ValueSpec(1, default=b"\x00"),
    V.VALUE_TRANSIENT_DEVICE_TIMEOUT: ValueSpec(2, default=(10000).to_bytes(2, "little")),
    V.VALUE_KEY_STORAGE_VERSION: ValueSpec(1, writable=False, default=b"\x03"),  # PSA key storage (7.x+)
    V.VALUE_DELAYED_JOIN_ACTIVATION: ValueSpec(1, default=b"\x00"),
    V.VALUE_MAX_NWK_RETRIES: ValueSpec(1, default=b"\x03"),
    V.VALUE_REJOIN_MODE: ValueSpec(1, default=b"\x00"),
    V.VALUE_JOIN_USE_INSTALL_CODE_ENABLE: ValueSpec(1, default=b"\x00"),
}

X = t.EzspExtendedValueId

# EzspExtendedValueId -> size of the value returned (UG100 getExtendedValue; herdsman's lengths).
EXTENDED_VALUE_SIZES: Final[dict[int, int]] = {
    X.EXTENDED_VALUE_ENDPOINT_FLAGS: 2,  # EzspEndpointFlags u16 of the endpoint in `characteristics`
    X.EXTENDED_VALUE_LAST_LEAVE_REASON: 3,  # EmberLeaveReason u8 + the leaving node's id u16
    X.EXTENDED_VALUE_GET_SOURCE_ROUTE_OVERHEAD: 1,  # bytes of source-route overhead to `characteristics`
    X.EXTENDED_VALUE_MEMORY_USAGE_DATA: 4,  # u32 for the heap statistic in `characteristics`
}

FREE_BUFFERS = 240  # a constant: the emulator never runs short of packet buffers
EZSP_ENDPOINT_ENABLED = 0x0001  # EzspEndpointFlags: endpoints start enabled
EMBER_LEAVE_REASON_NONE = 0x00
SOURCE_ROUTE_OVERHEAD_UNKNOWN = 0xFF  # EZSP_SOURCE_ROUTE_OVERHEAD_UNKNOWN


def value_spec(value_id: int) -> ValueSpec | None:
    return VALUES.get(int(value_id))
