"""DUIS service requests: typed requests and responses in the DCC's XML shape, and stateless validation.

domain.md §1 is the source of every rule; each module cites the section it follows.
"""

from harness.smets.duis.bodies import (
    BODY_TYPES,
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
    UpdateHanDeviceLog,
    UpdateSecurityCredentialsCoS,
)
from harness.smets.duis.catalogue import ALL_ROLES, CATALOGUE, DCC_ACB_EUI, SrvSpec, spec_for
from harness.smets.duis.codes import CommandVariant, ResponseCode
from harness.smets.duis.request import SCHEMA_VERSION, DuisSchemaError, Request, check, parse_request, validate
from harness.smets.duis.request_id import COUNTER_LIMIT, AntiReplay, ReplayRefused, RequestId
from harness.smets.duis.responses import (
    DccAlert,
    DeviceLogRead,
    DeviceResult,
    DspInventory,
    DspWanMatrix,
    InventoryDevice,
    NoPremisesFound,
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

__all__ = [
    "ALL_ROLES", "AntiReplay", "BODY_TYPES", "Body", "CATALOGUE", "COUNTER_LIMIT", "ChfFaultReturn",
    "Credential", "DccSignatures", "DuisSigner", "DuisVerifier", "GeneratedKeystore", "Keystore", "NoCredential",
    "SignatureInvalid", "SignerCert", "Verified",
    "ChfInstallSuccessNoSmWan", "ChfInstallSuccessSmWan", "ChfNoFaultReturn", "CommandVariant", "CommissionDevice",
    "DCC_ACB_EUI", "DS_NS", "DccAlert", "DeviceLogRead", "DevicePrenotification", "DeviceResult", "DspInventory",
    "DspWanMatrix", "DuisSchemaError", "INSTALL_CODE_OCTETS", "InventoryDevice", "NoPremisesFound", "Problem",
    "ReadDeviceLog", "ReadInventory", "ReplayRefused", "Request", "RequestHandover", "RequestId",
    "RequestWanMatrix", "Response", "ResponseCode", "RestoreHanDeviceLog", "SCHEMA_VERSION", "SR_NS", "SrvSpec",
    "UpdateHanDeviceLog", "UpdateSecurityCredentialsCoS", "XmlSyntaxError", "check", "parse_request", "spec_for",
    "validate",
]
