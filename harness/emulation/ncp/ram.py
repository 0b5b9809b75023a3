"""The emulated NCP's RAM: everything a real EmberZNet NCP forgets on reset (config, values, policies,
endpoints, transient keys, address/multicast tables), with the values a freshly reset stack reports."""

from __future__ import annotations

from dataclasses import dataclass, field

import bellows.types as t
import zigpy.types as zt

from harness.emulation.ncp import self_zdo

# Config values a freshly reset NCP reports before the host writes its own (EmberZNet defaults).
DEFAULT_CONFIG: dict[t.EzspConfigId, int] = {
    t.EzspConfigId.CONFIG_PACKET_BUFFER_COUNT: 75,
    t.EzspConfigId.CONFIG_NEIGHBOR_TABLE_SIZE: 16,
    t.EzspConfigId.CONFIG_APS_UNICAST_MESSAGE_COUNT: 10,
    t.EzspConfigId.CONFIG_BINDING_TABLE_SIZE: 2,
    t.EzspConfigId.CONFIG_ADDRESS_TABLE_SIZE: 8,
    t.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE: 8,
    t.EzspConfigId.CONFIG_ROUTE_TABLE_SIZE: 16,
    t.EzspConfigId.CONFIG_DISCOVERY_TABLE_SIZE: 8,
    t.EzspConfigId.CONFIG_STACK_PROFILE: 2,
    t.EzspConfigId.CONFIG_SECURITY_LEVEL: 5,
    t.EzspConfigId.CONFIG_MAX_HOPS: 30,
    t.EzspConfigId.CONFIG_MAX_END_DEVICE_CHILDREN: 6,
    t.EzspConfigId.CONFIG_INDIRECT_TRANSMISSION_TIMEOUT: 3000,
    t.EzspConfigId.CONFIG_END_DEVICE_POLL_TIMEOUT: 8,
    t.EzspConfigId.CONFIG_TRUST_CENTER_ADDRESS_CACHE_SIZE: 2,
    t.EzspConfigId.CONFIG_SOURCE_ROUTE_TABLE_SIZE: 7,
    t.EzspConfigId.CONFIG_KEY_TABLE_SIZE: 4,
    t.EzspConfigId.CONFIG_PAN_ID_CONFLICT_REPORT_THRESHOLD: 1,
    t.EzspConfigId.CONFIG_APPLICATION_ZDO_FLAGS: 0,
    t.EzspConfigId.CONFIG_SUPPORTED_NETWORKS: 1,
    t.EzspConfigId.CONFIG_TRANSIENT_KEY_TIMEOUT_S: 300,
    t.EzspConfigId.CONFIG_TC_REJOINS_USING_WELL_KNOWN_KEY_TIMEOUT_S: 300,
}

# Ranges setConfigurationValue accepts (EZSP_ERROR_INVALID_VALUE outside). Table sizes are bounded so a hostile
# host cannot make the emulator allocate without limit; the bounds are generous next to a real NCP's RAM.
CONFIG_LIMITS: dict[int, tuple[int, int]] = {
    int(t.EzspConfigId.CONFIG_ADDRESS_TABLE_SIZE): (0, 250),
    int(t.EzspConfigId.CONFIG_MULTICAST_TABLE_SIZE): (0, 250),
    int(t.EzspConfigId.CONFIG_KEY_TABLE_SIZE): (0, 250),
    int(t.EzspConfigId.CONFIG_SUPPORTED_NETWORKS): (1, 2),
    int(t.EzspConfigId.CONFIG_STACK_PROFILE): (0, 2),
    int(t.EzspConfigId.CONFIG_SECURITY_LEVEL): (0, 7),
    int(t.EzspConfigId.CONFIG_MAX_HOPS): (1, 30),
}


@dataclass
class TransientKey:
    key: zt.KeyData = field(repr=False)  # a secret
    expires_at: float


@dataclass
class NcpRam:
    """RAM state: lost on every RST, as on a real NCP."""

    # Every EzspConfigId the firmware knows (bellows' enum), at its reset default (0 where we know none).
    config: dict[int, int] = field(default_factory=lambda: {int(k): DEFAULT_CONFIG.get(k, 0) for k in t.EzspConfigId})
    values: dict[int, bytes] = field(default_factory=dict)
    endpoint_flags: dict[int, int] = field(default_factory=dict)
    policies: dict[int, int] = field(default_factory=dict)
    endpoints: dict[int, self_zdo.LocalEndpoint] = field(default_factory=dict)
    transient_keys: dict[zt.EUI64, TransientKey] = field(default_factory=dict)
    pending_security: t.EmberInitialSecurityState | None = None
    network_up: bool = False
    version_agreed: bool = False  # a `version` for exactly our protocol was answered since the last reset
    extended_timeouts: dict[zt.EUI64, bool] = field(default_factory=dict)
    address_table: dict[int, tuple[zt.EUI64, int]] = field(default_factory=dict)
    multicast_table: dict[int, t.EmberMulticastTableEntry] = field(default_factory=dict)
    manufacturer_code: int = self_zdo.EMBER_MANUFACTURER_CODE
    aps_sequence: int = 0
    permit_seconds: int = 0

    def config_value(self, config_id: t.EzspConfigId) -> int:
        return self.config.get(int(config_id), DEFAULT_CONFIG.get(config_id, 0))
