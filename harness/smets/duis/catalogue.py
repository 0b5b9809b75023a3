"""The Service Reference Variants the harness supports, with their DUIS request-matrix facts.

Per SRV: critical / non-device flags and the roles allowed to send it are from [DP] `duis-request-matrix.json`
(domain.md §1.1 [V]). The Command Variants accepted are the ones the RTDS templates use ([DT], domain.md §1.1 [V]);
for critical 8.1.1 (no RTDS template) CV 4 and 5 are accepted [U]. The device types a device SRV may be addressed to
are from the RTDS targets (domain.md §1.2, §1.5, §1.6, §1.11) and are [U] where marked. The body element names are
the RTDS ones (8.1.1: ECS70 / GCS28 `CommissionDeviceSynchroniseClock`, CV 4 in the templates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from harness.smets.identities import DeviceType

__all__ = ["SrvSpec", "CATALOGUE", "ALL_ROLES", "spec_for", "DCC_ACB_EUI"]

# The DCC Access Control Broker: Business Target of non-device SRs in RTDS (domain.md §0 conventions [S]).
DCC_ACB_EUI = "90-B3-D5-1F-30-00-00-02"

ALL_ROLES = frozenset({"IS", "GS", "ES", "ED", "GT", "RSA", "OU"})
_SUPPLIERS = frozenset({"IS", "GS"})
_METERS_AND_TYPE1 = frozenset(
    {DeviceType.ESME, DeviceType.GSME, DeviceType.GPF, DeviceType.HCALCS, DeviceType.PPMID}
)


@dataclass(frozen=True)
class SrvSpec:
    srv: str  # Service Reference Variant, e.g. "8.14.2"
    service_reference: str  # e.g. "8.14"
    name: str
    critical: bool
    non_device: bool
    roles: frozenset[str]  # role codes, as Role.code
    command_variants: frozenset[int]
    body_element: str
    target_types: frozenset[DeviceType] = frozenset()  # empty for non-device SRVs (target = the DCC)

    def __str__(self) -> str:
        return f"{self.srv} {self.name}"


def _nd(srv: str, ref: str, name: str, roles: frozenset[str], body: str) -> SrvSpec:
    return SrvSpec(srv, ref, name, False, True, roles, frozenset({8}), body)


CATALOGUE: Mapping[str, SrvSpec] = MappingProxyType(
    {
        s.srv: s
        for s in (
            # §1.8: critical, IS/GS [DP]; CVs and target types [U].
            SrvSpec("8.1.1", "8.1", "Commission Device", True, False, _SUPPLIERS, frozenset({4, 5}),
                    "CommissionDeviceSynchroniseClock", frozenset({DeviceType.ESME, DeviceType.GSME})),
            _nd("8.2", "8.2", "Read Inventory", ALL_ROLES, "ReadInventory"),
            # §1.6: CCS06/CCS07 target the CHF; CS07 targets meters/GPF [V].
            SrvSpec("8.9", "8.9", "Read Device Log", False, False, frozenset({"IS", "GS", "OU"}), frozenset({1}),
                    "ReadDeviceLog", frozenset({DeviceType.CHF, DeviceType.ESME, DeviceType.GSME, DeviceType.GPF})),
            # §1.2: CV 1, IS/GS/OU, target the CHF [V].
            SrvSpec("8.11", "8.11", "Update HAN Device Log", False, False, frozenset({"IS", "GS", "OU"}),
                    frozenset({1}), "UpdateHANDeviceLog", frozenset({DeviceType.CHF})),
            # §1.5: CV 1, IS/GS, target the (new) CHF [V].
            SrvSpec("8.12.1", "8.12", "Restore HAN Device Log", False, False, _SUPPLIERS, frozenset({1}),
                    "RestoreHANDeviceLog", frozenset({DeviceType.CHF})),
            # §1.9: non-device, CV 8, IS/GS, target the DCC [V].
            _nd("8.14.1", "8.14", "CH Status Update - Install Success", _SUPPLIERS, "CHFInstallSuccessSMWAN"),
            _nd("8.14.2", "8.14", "CH Status Update - Install No SM WAN", _SUPPLIERS, "CHFInstallSuccessNoSMWAN"),
            _nd("8.14.3", "8.14", "CH Status Update - Fault Return", _SUPPLIERS, "CHFFaultReturn"),
            _nd("8.14.4", "8.14", "CH Status Update - No Fault Return", _SUPPLIERS, "CHFNoFaultReturn"),
            # §1.10: non-device, CV 8, all roles [V].
            _nd("12.1", "12.1", "Request WAN Matrix", ALL_ROLES, "RequestWANMatrix"),
            _nd("12.2", "12.2", "Device Pre-notification", ALL_ROLES, "DevicePrenotification"),
            # §1.11: CV 1, IS/GS; RTDS 6.21 targets the GPF, 6.23 the ESME [V]; other target types [U].
            SrvSpec("6.21", "6.21", "Request Handover of DCC Controlled Device", False, False, _SUPPLIERS,
                    frozenset({1}), "RequestHandoverOfDCCControlledDevice", _METERS_AND_TYPE1),
            SrvSpec("6.23", "6.23", "Update Security Credentials (CoS)", False, False, _SUPPLIERS, frozenset({1}),
                    "UpdateSecurityCredentialsCoS", frozenset({DeviceType.ESME, DeviceType.GSME})),
        )
    }
)


# Join / Unjoin, Restore GPF Device Log, Decommission, Update Inventory (bodies_join.py). C, ND and roles: [DP]
# request matrix (domain.md §1.1 [V]); CVs: the RTDS templates (8.7.1 / 8.8.1 CV 4, with 5 the signed return, as
# for 8.1.1). RTDS targets: 8.7.x / 8.8.x an ESME (A0), a GSME (A1) and other HAN devices (A4, A5); the GPF as a
# target ("the GSME's path to the GPF Device Log", §2.1 step 6, §4.3) and the full target set are [U].
_JOIN_TARGETS = frozenset({DeviceType.ESME, DeviceType.GSME, DeviceType.GPF, DeviceType.HCALCS, DeviceType.PPMID})
CATALOGUE = MappingProxyType({**CATALOGUE, **{s.srv: s for s in (
    SrvSpec("8.7.1", "8.7", "Join Service (Critical)", True, False, _SUPPLIERS, frozenset({4, 5}),
            "JoinServiceCritical", _JOIN_TARGETS),
    SrvSpec("8.7.2", "8.7", "Join Service (Non-Critical)", False, False, frozenset({"IS", "GS", "OU"}),
            frozenset({1}), "JoinServiceNonCritical", _JOIN_TARGETS),
    SrvSpec("8.8.1", "8.8", "Unjoin Service (Critical)", True, False, _SUPPLIERS, frozenset({4, 5}),
            "UnjoinServiceCritical", _JOIN_TARGETS),
    SrvSpec("8.8.2", "8.8", "Unjoin Service (Non-Critical)", False, False, frozenset({"IS", "GS", "OU"}),
            frozenset({1}), "UnjoinServiceNonCritical", _JOIN_TARGETS),
    # §1.5: GCS59 to the GPF (RTDS target A3) [V].
    SrvSpec("8.12.2", "8.12", "Restore GPF Device Log", False, False, _SUPPLIERS, frozenset({1}),
            "RestoreGPFDeviceLog", frozenset({DeviceType.GPF})),
    _nd("8.3", "8.3", "Decommission Device", _SUPPLIERS, "DecommissionDevice"),
    _nd("8.4", "8.4", "Update Inventory", ALL_ROLES, "UpdateInventory"),
)}})


def spec_for(srv: str) -> SrvSpec | None:
    return CATALOGUE.get(srv)
