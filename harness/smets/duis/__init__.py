"""DUIS service requests: typed requests and responses in the DCC's XML shape, and stateless validation.

domain.md §1 is the source of every rule; each module cites the section it follows.
"""

from harness.smets.duis.bodies import (
    BODY_TYPES,
    CANCELLATION_DATE_TIME,
    INSTALL_CODE_OCTETS,
    Body,
    ChfFaultReturn,
    ChfInstallSuccessNoSmWan,
    ChfInstallSuccessSmWan,
    ChfNoFaultReturn,
    CommissionDevice,
    DevicePrenotification,
    ReadDeviceLog,
    ReadInventory,
    RequestHandover,
    RequestWanMatrix,
    RestoreHanDeviceLog,
    SignedPreCommand,
    UpdateHanDeviceLog,
    UpdateSecurityCredentialsCoS,
)
from harness.smets.duis.bodies_join import (
    JOIN_BODY_TYPES,
    DecommissionDevice,
    JoinServiceCritical,
    JoinServiceNonCritical,
    RestoreGpfDeviceLog,
    UnjoinServiceCritical,
    UnjoinServiceNonCritical,
    UpdateInventory,
)
from harness.smets.duis.catalogue import ALL_ROLES, CATALOGUE, DCC_ACB_EUI, SrvSpec, spec_for
from harness.smets.duis.codes import CommandVariant, ResponseCode
from harness.smets.duis.request import (
    SCHEMA_VERSION,
    SIGNED_PRE_COMMAND_CVS,
    DuisSchemaError,
    Request,
    check,
    parse_request,
    validate,
)
from harness.smets.duis.request_id import COUNTER_LIMIT, AntiReplay, ReplayRefused, RequestId
from harness.smets.duis.responses import (
    DccAlert,
    DeviceLogRead,
    DeviceResult,
    DspInventory,
    DspWanMatrix,
    InventoryDevice,
    NoPremisesFound,
    PreCommand,
    Response,
)
from harness.smets.duis.keystore import GeneratedKeystore, Keystore, NoCredential
from harness.smets.duis.signing import (
    Credential,
    DccSignatures,
    DuisSigner,
    DuisVerifier,
    SignatureInvalid,
    SignerCert,
    Verified,
)
from harness.smets.duis.xmlbits import DS_NS, SR_NS, Problem, XmlSyntaxError

BODY_TYPES.update(JOIN_BODY_TYPES)  # one registry for the request reader (bodies_join.py imports bodies.py)

__all__ = [
    "ALL_ROLES", "AntiReplay", "BODY_TYPES", "Body", "CANCELLATION_DATE_TIME", "CATALOGUE", "COUNTER_LIMIT",
    "ChfFaultReturn",
    "Credential", "DccSignatures", "DuisSigner", "DuisVerifier", "GeneratedKeystore", "Keystore", "NoCredential",
    "SignatureInvalid", "SignerCert", "Verified",
    "ChfInstallSuccessNoSmWan", "ChfInstallSuccessSmWan", "ChfNoFaultReturn", "CommandVariant", "CommissionDevice",
    "DCC_ACB_EUI", "DS_NS", "DccAlert", "DeviceLogRead", "DevicePrenotification", "DeviceResult", "DspInventory",
    "DspWanMatrix", "DuisSchemaError", "INSTALL_CODE_OCTETS", "InventoryDevice", "NoPremisesFound", "PreCommand",
    "Problem",
    "ReadDeviceLog", "ReadInventory", "ReplayRefused", "Request", "RequestHandover", "RequestId",
    "RequestWanMatrix", "Response", "ResponseCode", "RestoreHanDeviceLog", "SCHEMA_VERSION", "SIGNED_PRE_COMMAND_CVS",
    "SR_NS", "SignedPreCommand", "SrvSpec",
    "UpdateHanDeviceLog", "UpdateSecurityCredentialsCoS", "XmlSyntaxError", "check", "parse_request", "spec_for",
    "validate", "DecommissionDevice", "JoinServiceCritical", "JoinServiceNonCritical", "RestoreGpfDeviceLog",
    "UnjoinServiceCritical", "UnjoinServiceNonCritical", "UpdateInventory",
]
