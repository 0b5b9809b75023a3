"""Every EZSP answer the emulated NCP gives, pinned to the size and status EmberZNet documents.

Sources, cited per table below: Silicon Labs UG100 "EZSP Reference Guide" (command and response parameters,
status values), the EmberZNet structs the responses carry (ember-types.h / sl_zigbee_types.h), and
zigbee-herdsman's ember adapter (an independent host that checks these exact lengths). A response is built by
our codec from bellows' tables, so each size here is computed from the documented struct sizes, not from the
codec, and compared with the bytes the NCP actually sent.
"""

from __future__ import annotations

import bellows.types as t
import pytest
import zigpy.types as zt

from harness.emulation.ncp import values
from harness.emulation.ncp.ncp import COMMAND_LOG_SIZE, EmulatedNcp
from tests.emulation.ncp_helpers import COORDINATOR_EUI64, EzspHost

VERSIONS = (13, 14)

# Documented struct sizes (bytes), EmberZNet ember-types.h / sl_zigbee_types.h.
EMBER_NETWORK_PARAMETERS = 20  # extPanId 8, panId 2, txPower 1, channel 1, joinMethod 1, nwkManagerId 2,
#                                nwkUpdateId 1, channels u32 4
EMBER_VERSION = 7  # build u16, major, minor, patch, special, type
SEC_MAN_CONTEXT = 18  # core_key_type, key_index, derived_type u16, eui64 8, multi_network_index, flags, psa u32
SEC_MAN_APS_KEY_METADATA = 12  # bitmask u16, outgoing fc u32, incoming fc u32, ttl u16
KEY = 16
EUI64 = 8
APS_FRAME = 11  # profile u16, cluster u16, src ep, dst ep, options u16, group u16, sequence


def status_size(version: int) -> int:
    """EmberStatus / EzspStatus are one byte up to EZSP 13; EZSP 14 (EmberZNet 8.0) uses 4-byte sl_status_t."""
    return 4 if version >= 14 else 1


def status_of(body: bytes, version: int, *, at: int = 0) -> int:
    return int.from_bytes(body[at : at + status_size(version)], "little")


def expected(status: t.EzspStatus | t.EmberStatus | t.sl_Status, version: int) -> int:
    """The documented status in the width the version uses (bellows' EmberStatus -> sl_Status map for v14)."""
    if version >= 14:
        if isinstance(status, t.sl_Status):
            return int(status)
        return int(t.SL_STATUS_MAP.get((type(status), status), t.sl_Status.ZIGBEE_EZSP_ERROR))
    return int(status)


def fresh(version: int) -> EzspHost:
    return EzspHost(EmulatedNcp(version, eui64=COORDINATOR_EUI64, strict=True))


SECURITY = t.EmberInitialSecurityState(
    bitmask=t.EmberInitialSecurityBitmask.HAVE_NETWORK_KEY | t.EmberInitialSecurityBitmask.HAVE_PRECONFIGURED_KEY,
    preconfiguredKey=t.KeyData(b"ZigBeeAlliance09"), networkKey=t.KeyData(bytes(range(16))),
    networkKeySequenceNumber=0, preconfiguredTrustCenterEui64=zt.EUI64([0] * 8),
)  # fmt: skip


def network_parameters(channel: int = 15, pan_id: int = 0x1A62) -> t.EmberNetworkParameters:
    return t.EmberNetworkParameters(
        extendedPanId=t.ExtendedPanId.convert("11:22:33:44:55:66:77:88"), panId=pan_id, radioTxPower=8,
        radioChannel=channel, joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION, nwkManagerId=0, nwkUpdateId=0,
        channels=t.Channels.ALL_CHANNELS,
    )  # fmt: skip


def formed(version: int) -> EzspHost:
    host = fresh(version)
    host.command("setInitialSecurityState", state=SECURITY)
    body, _ = host.command("formNetwork", parameters=network_parameters())
    assert status_of(body, version) == 0
    return host


# ---- getValue (UG100 getValue 0x00AA: status, valueLength u8, value[valueLength]) ----------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("value_id", sorted(values.VALUES), ids=lambda v: t.EzspValueId(v).name)
def test_get_value_has_its_documented_size(version, value_id):
    spec = values.VALUES[value_id]
    body, _ = fresh(version).command("getValue", valueId=t.EzspValueId(value_id))
    if not spec.readable:  # a command in value form: UG100 EZSP_ERROR_INVALID_ID, no value
        assert status_of(body, version) == expected(t.EzspStatus.ERROR_INVALID_ID, version)
        assert body[status_size(version) :] == b"\x00"
        return
    assert status_of(body, version) == 0
    length = body[status_size(version)]
    assert length == spec.size and len(body) == status_size(version) + 1 + spec.size


@pytest.mark.parametrize("version", VERSIONS)
def test_version_info_is_the_7_byte_ember_version(version):
    body, _ = fresh(version).command("getValue", valueId=t.EzspValueId.VALUE_VERSION_INFO)
    value = body[status_size(version) + 1 :]
    assert len(value) == EMBER_VERSION
    assert value[6] == 0xAA  # EmberVersionType GA
    version_rsp = fresh(version).response("version", desiredProtocolVersion=version)
    stack = version_rsp["stackVersion"]  # the same release, nibble-packed: major.minor.patch.special
    assert (value[2], value[3], value[4]) == (stack >> 12, (stack >> 8) & 0xF, (stack >> 4) & 0xF)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("value_id", [0x00, 0x26, 0x31, 0xEE])  # TOKEN_STACK_NODE_DATA, RF4CE, PTA, unknown
def test_get_value_of_an_unknown_id_is_invalid_id_with_no_value(version, value_id):
    body, _ = fresh(version).command("getValue", valueId=t.EzspValueId(value_id))
    assert status_of(body, version) == expected(t.EzspStatus.ERROR_INVALID_ID, version)
    assert body[status_size(version) :] == b"\x00"


# UG100 setValue: EZSP_ERROR_INVALID_ID unknown id, EZSP_ERROR_INVALID_VALUE wrong length,
# EZSP_ERROR_INVALID_CALL a value that cannot be modified.
SET_VALUE_CASES = [
    (t.EzspValueId.VALUE_CCA_THRESHOLD, b"\x00", t.sl_Status.OK),
    (t.EzspValueId.VALUE_CCA_THRESHOLD, b"\x00\x00", t.EzspStatus.ERROR_INVALID_VALUE),
    (t.EzspValueId.VALUE_TRANSIENT_DEVICE_TIMEOUT, b"\x10\x27", t.sl_Status.OK),
    (t.EzspValueId.VALUE_TRANSIENT_DEVICE_TIMEOUT, b"\x10", t.EzspStatus.ERROR_INVALID_VALUE),
    (t.EzspValueId.VALUE_NWK_FRAME_COUNTER, b"\x01\x00\x00\x00", t.sl_Status.OK),
    (t.EzspValueId.VALUE_NWK_FRAME_COUNTER, b"\x01\x00", t.EzspStatus.ERROR_INVALID_VALUE),
    (t.EzspValueId.VALUE_VERSION_INFO, b"\x00" * 7, t.EzspStatus.ERROR_INVALID_CALL),
    (t.EzspValueId.VALUE_FREE_BUFFERS, b"\x05", t.EzspStatus.ERROR_INVALID_CALL),
    (t.EzspValueId.VALUE_ENDPOINT_FLAGS, b"\x07\x01\x00", t.EzspStatus.ERROR_INVALID_VALUE),  # no endpoint 7
    (t.EzspValueId(0xEE), b"\x00", t.EzspStatus.ERROR_INVALID_ID),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("value_id", "value", "status"), SET_VALUE_CASES, ids=lambda c: getattr(c, "name", None))
def test_set_value_status_is_the_documented_one(version, value_id, value, status):
    host = fresh(version)
    body, _ = host.command("setValue", valueId=value_id, value=t.LVBytes(value))
    assert len(body) == status_size(version)
    assert status_of(body, version) == expected(status, version)
    if status == t.sl_Status.OK and value_id != t.EzspValueId.VALUE_ENDPOINT_FLAGS:
        read, _ = host.command("getValue", valueId=value_id)
        assert read[status_size(version) + 1 :] == value  # a value set is the value read back


# ---- getExtendedValue (UG100 0x0003: valueId, characteristics u32 -> status, valueLength, value) -----------

EXTENDED_CASES = [
    (t.EzspExtendedValueId.EXTENDED_VALUE_ENDPOINT_FLAGS, 1, t.sl_Status.OK, 2),
    # An endpoint that does not exist: an error, but still the 2-byte length (herdsman relies on it).
    (t.EzspExtendedValueId.EXTENDED_VALUE_ENDPOINT_FLAGS, 9, t.EzspStatus.ERROR_INVALID_VALUE, 2),
    (t.EzspExtendedValueId.EXTENDED_VALUE_LAST_LEAVE_REASON, 0, t.sl_Status.OK, 3),
    (t.EzspExtendedValueId.EXTENDED_VALUE_GET_SOURCE_ROUTE_OVERHEAD, 0x1234, t.sl_Status.OK, 1),
    (t.EzspExtendedValueId.EXTENDED_VALUE_MEMORY_USAGE_DATA, 0, t.sl_Status.OK, 4),
    (t.EzspExtendedValueId(0x7F), 0, t.EzspStatus.ERROR_INVALID_ID, 0),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("value_id", "characteristics", "status", "size"), EXTENDED_CASES)
def test_get_extended_value_size_and_status(version, value_id, characteristics, status, size):
    host = fresh(version)
    host.command("addEndpoint", endpoint=1, profileId=0x0109, deviceId=0x0500, deviceVersion=0,
                 inputClusterCount=0, outputClusterCount=0, inputClusterList=[], outputClusterList=[])  # fmt: skip
    body, _ = host.command("getExtendedValue", valueId=value_id, characteristics=characteristics)
    assert status_of(body, version) == expected(status, version)
    assert body[status_size(version)] == size and len(body) == status_size(version) + 1 + size


# ---- configuration (UG100 getConfigurationValue 0x0052 / setConfigurationValue 0x0053) -------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_configuration_values_answer_as_documented(version):
    host = fresh(version)
    body, _ = host.command("getConfigurationValue", configId=t.EzspConfigId.CONFIG_KEY_TABLE_SIZE)
    assert status_of(body, version) == 0 and len(body) == status_size(version) + 2
    body, _ = host.command("getConfigurationValue", configId=t.EzspConfigId(0xEE))  # not a config id
    assert status_of(body, version) == expected(t.EzspStatus.ERROR_INVALID_ID, version)
    assert len(body) == status_size(version) + 2
    body, _ = host.command("setConfigurationValue", configId=t.EzspConfigId(0xEE), value=1)
    assert status_of(body, version) == expected(t.EzspStatus.ERROR_INVALID_ID, version)
    body, _ = host.command("setConfigurationValue", configId=t.EzspConfigId.CONFIG_MAX_HOPS, value=0)
    assert status_of(body, version) == expected(t.EzspStatus.ERROR_INVALID_VALUE, version)
    body, _ = host.command("setConfigurationValue", configId=t.EzspConfigId.CONFIG_MAX_HOPS, value=12)
    assert status_of(body, version) == 0 and len(body) == status_size(version)


@pytest.mark.parametrize("version", VERSIONS)
def test_configuration_is_read_only_once_the_network_is_up(version):
    """UG100 setConfigurationValue: after NETWORK_UP the command responds with EZSP_ERROR_INVALID_CALL."""
    host = formed(version)
    body, _ = host.command("setConfigurationValue", configId=t.EzspConfigId.CONFIG_MAX_HOPS, value=12)
    assert status_of(body, version) == expected(t.EzspStatus.ERROR_INVALID_CALL, version)
    assert host.response("getConfigurationValue", configId=t.EzspConfigId.CONFIG_MAX_HOPS)["value"] == 30


# ---- version negotiation (UG100 "Protocol Format", version 0x0000) ---------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_host_asking_a_higher_version_gets_ours_and_must_ask_again(version):
    host = EzspHost(EmulatedNcp(version, eui64=COORDINATOR_EUI64, strict=True), negotiate=False)
    rsp = host.response("version", desiredProtocolVersion=19)
    assert rsp["protocolVersion"] == version and rsp["stackType"] == 2  # EZSP_STACK_TYPE_MESH
    # Not yet agreed: other commands get invalidCommand(EZSP_ERROR_VERSION_NOT_SET).
    frames = host.raw(host.ncp.codec._header(9, 0, "getNodeId", host.ncp.codec.native_header))
    invalid = host.ncp.codec.commands["invalidCommand"][0]
    header = host.ncp.codec._header(9, 0x80, "invalidCommand", host.ncp.codec.native_header)
    assert frames == [header + bytes([t.EzspStatus.ERROR_VERSION_NOT_SET])] and invalid == 0x0058
    host.response("version", desiredProtocolVersion=version)
    assert host.response("getNodeId") == {"nodeId": 0xFFFE}


# ---- network state (UG100 networkInit 0x0017, formNetwork 0x001E, getNetworkParameters 0x0028) ------------


@pytest.mark.parametrize("version", VERSIONS)
def test_network_commands_before_and_after_a_network_exists(version):
    host = fresh(version)
    body, callbacks = host.command("networkInit", networkInitBitmask=t.EmberNetworkInitBitmask.NETWORK_INIT_NO_OPTIONS)
    assert status_of(body, version) == expected(t.EmberStatus.NOT_JOINED, version) and callbacks == []
    body, _ = host.command("getNetworkParameters")
    assert status_of(body, version) == expected(t.EmberStatus.NOT_JOINED, version)
    assert len(body) == status_size(version) + 1 + EMBER_NETWORK_PARAMETERS
    host.command("setInitialSecurityState", state=SECURITY)
    body, callbacks = host.command("formNetwork", parameters=network_parameters())
    assert status_of(body, version) == 0 and len(callbacks) == 1  # stackStatusHandler(NETWORK_UP)
    body, _ = host.command("getNetworkParameters")
    assert status_of(body, version) == 0 and body[status_size(version)] == t.EmberNodeType.COORDINATOR
    assert len(body) == status_size(version) + 1 + EMBER_NETWORK_PARAMETERS
    # A second form, or an init, while the network is up: EMBER_INVALID_CALL.
    body, callbacks = host.command("formNetwork", parameters=network_parameters())
    assert status_of(body, version) == expected(t.EmberStatus.INVALID_CALL, version) and callbacks == []
    body, _ = host.command("networkInit", networkInitBitmask=t.EmberNetworkInitBitmask.NETWORK_INIT_NO_OPTIONS)
    assert status_of(body, version) == expected(t.EmberStatus.INVALID_CALL, version)


# formNetwork parameters EmberZNet rejects, with its status; none may change state (issue 9 part 3).
BAD_FORMS = [
    (network_parameters(channel=200), t.EmberStatus.PHY_INVALID_CHANNEL),
    (network_parameters(channel=10), t.EmberStatus.PHY_INVALID_CHANNEL),
    (network_parameters(channel=27), t.EmberStatus.PHY_INVALID_CHANNEL),
    (network_parameters(pan_id=0xFFFF), t.EmberStatus.BAD_ARGUMENT),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("params", "status"), BAD_FORMS, ids=["ch200", "ch10", "ch27", "pan-ffff"])
def test_a_rejected_form_changes_nothing_and_the_ncp_still_forms(version, params, status):
    host = fresh(version)
    host.command("setInitialSecurityState", state=SECURITY)
    before = host.ncp.nv.to_json()
    body, callbacks = host.command("formNetwork", parameters=params)
    assert status_of(body, version) == expected(status, version)
    assert callbacks == [] and not host.ncp.network_up  # no NETWORK_UP announced
    assert host.ncp.nv.to_json() == before  # nothing saved (so nothing reaches --nv either)
    body, callbacks = host.command("formNetwork", parameters=network_parameters())
    assert status_of(body, version) == 0 and len(callbacks) == 1 and host.ncp.nv.channel == 15


@pytest.mark.parametrize("version", VERSIONS)
def test_form_without_security_state_is_security_state_not_set(version):
    body, callbacks = fresh(version).command("formNetwork", parameters=network_parameters())
    assert status_of(body, version) == expected(t.EmberStatus.SECURITY_STATE_NOT_SET, version)
    assert callbacks == []


# ---- messaging (UG100 sendUnicast 0x0034 / sendBroadcast 0x0036, messageSentHandler 0x003F,
#      incomingMessageHandler 0x0045) ---------------------------------------------------------------------


def _aps(cluster: int) -> t.EmberApsFrame:
    return t.EmberApsFrame(profileId=0, clusterId=cluster, sourceEndpoint=0, destinationEndpoint=0,
                           options=t.EmberApsOption.APS_OPTION_NONE, groupId=0, sequence=0)  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
def test_send_unicast_to_ourselves_echoes_the_tag_then_delivers_our_zdo_answer(version):
    host = formed(version)
    tag = 0x1234 if version >= 14 else 0x42  # the message tag is u16 from EZSP 14
    payload = b"\x07\x00\x00"  # Node_Desc_req TSN 7 for 0x0000
    if version >= 14:
        body, callbacks = host.command("sendUnicast", message_type=t.EmberOutgoingMessageType.OUTGOING_DIRECT,
                                       nwk=0x0000, aps_frame=_aps(0x0002), message_tag=tag,
                                       message=t.LVBytes(payload))  # fmt: skip
    else:
        body, callbacks = host.command("sendUnicast", type=t.EmberOutgoingMessageType.OUTGOING_DIRECT,
                                       indexOrDestination=0x0000, apsFrame=_aps(0x0002), messageTag=tag,
                                       messageContents=t.LVBytes(payload))  # fmt: skip
    assert status_of(body, version) == 0 and len(body) == status_size(version) + 1  # status, APS sequence
    aps_sequence = body[-1]
    sent, incoming = callbacks
    codec = host.ncp.codec
    sent_rsp = codec.commands["messageSentHandler"]
    sent_fields, _ = t.deserialize_dict(sent[len(codec._header(0, 0, "messageSentHandler", codec.native_header)):],
                                        sent_rsp[2])  # fmt: skip
    if version >= 14:
        assert sent_fields["message_tag"] == tag and sent_fields["nwk"] == 0 and sent_fields["status"] == 0
        assert sent_fields["aps_frame"].sequence == aps_sequence
    else:
        assert sent_fields["messageTag"] == tag and sent_fields["indexOrDestination"] == 0
        assert sent_fields["apsFrame"].sequence == aps_sequence
    # incomingMessageHandler: v13 type, apsFrame, lqi, rssi, sender u16, binding, address, LV message;
    # v14 adds the sender EUI-64 and a u32 timestamp (UG100 8.0 incomingMessageHandler).
    header = len(codec._header(0, 0, "incomingMessageHandler", codec.native_header))
    fixed = 1 + APS_FRAME + (2 + EUI64 + 1 + 1 + 1 + 1 + 4 if version >= 14 else 1 + 1 + 2 + 1 + 1)
    message_length = incoming[header + fixed]
    assert len(incoming) == header + fixed + 1 + message_length
    assert incoming[header + fixed + 1] == 7  # the answer carries the request's TSN


@pytest.mark.parametrize("version", VERSIONS)
def test_sending_without_a_network_is_network_down(version):
    host = fresh(version)
    if version >= 14:
        body, callbacks = host.command("sendBroadcast", alias=0, destination=0xFFFC, sequence=0,
                                       aps_frame=_aps(0x0036), radius=0, message_tag=1,
                                       message=t.LVBytes(b"\x01\x00\x00"))  # fmt: skip
    else:
        body, callbacks = host.command("sendBroadcast", destination=0xFFFC, apsFrame=_aps(0x0036), radius=0,
                                       messageTag=1, messageContents=t.LVBytes(b"\x01\x00\x00"))  # fmt: skip
    assert status_of(body, version) == expected(t.EmberStatus.NETWORK_DOWN, version) and callbacks == []


# ---- security manager (UG100 v13+: importTransientKey 0x0111, exportKey 0x0114, exportLinkKeyByIndex 0x010F)


def _context(kind: t.SecurityManagerKeyType, index: int = 0) -> t.SecurityManagerContextV13:
    return t.SecurityManagerContextV13(
        core_key_type=kind, key_index=index, derived_type=t.SecurityManagerDerivedKeyTypeV13.NONE,
        eui64=zt.EUI64([0] * 8), multi_network_index=0, flags=t.SecurityManagerContextFlags.NONE,
        psa_key_alg_permission=0,
    )  # fmt: skip


@pytest.mark.parametrize("version", VERSIONS)
def test_security_manager_answers_have_their_struct_sizes(version):
    host = fresh(version)
    # exportKey: v13 key then status; v14 status, key, context (sl_zigbee_sec_man_export_key in 8.0).
    exported_size = KEY + 4 + (SEC_MAN_CONTEXT if version >= 14 else 0)
    body, _ = host.command("exportKey", context=_context(t.SecurityManagerKeyType.NETWORK))
    assert len(body) == exported_size
    assert int.from_bytes(body[:4] if version >= 14 else body[KEY:], "little") == t.sl_Status.NOT_FOUND  # no network
    host.command("setInitialSecurityState", state=SECURITY)
    host.command("formNetwork", parameters=network_parameters())
    body, _ = host.command("exportKey", context=_context(t.SecurityManagerKeyType.NETWORK))
    key = body[4 : 4 + KEY] if version >= 14 else body[:KEY]
    assert len(body) == exported_size and key == bytes(range(16))
    # exportLinkKeyByIndex of an empty slot: NOT_FOUND, full-size answer (eui64, key, metadata, status [+context])
    body, _ = host.command("exportLinkKeyByIndex", index=0)
    assert len(body) == EUI64 * (version < 14) + KEY + SEC_MAN_APS_KEY_METADATA + 4 + SEC_MAN_CONTEXT * (version >= 14)
    status = body[:4] if version >= 14 else body[-4:]
    assert int.from_bytes(status, "little") == t.sl_Status.NOT_FOUND
    # importTransientKey: a 4-byte sl_status_t in every version that has it.
    params = {"eui64": zt.EUI64.convert("00:0d:6f:00:0a:bc:de:f0"), "plaintext_key": t.KeyData(b"K" * 16),
              "flags": t.SecurityManagerContextFlags.NONE}  # fmt: skip
    body, _ = host.command("importTransientKey", **params)
    assert body == b"\x00\x00\x00\x00"


def test_v14_import_transient_key_without_flags_as_herdsman_sends_it():
    """EmberZNet 8.0 dropped importTransientKey's flags; bellows' v14 table still sends them: both parse."""
    host = fresh(14)
    frame_id = host.ncp.codec.commands["importTransientKey"][0]
    header = bytes([0x21, 0x00, 0x01]) + frame_id.to_bytes(2, "little")
    eui64 = zt.EUI64.convert("00:0d:6f:00:0a:bc:de:f0")
    frames = host.raw(header + eui64.serialize() + b"K" * 16)
    assert frames[0][5:] == b"\x00\x00\x00\x00"
    assert host.ncp.transient_key_for(eui64) == zt.KeyData(b"K" * 16)


# ---- hostile hosts: bounded state, the NCP keeps serving ----------------------------------------------------


def test_48000_commands_keep_a_bounded_log_and_count_them_all():
    host = fresh(13)
    for _ in range(48_000):
        host.command("getNodeId")
    ncp = host.ncp
    assert len(ncp.command_log) == COMMAND_LOG_SIZE < 48_000  # retained entries: a ring, not the whole run
    assert ncp.command_counts["getNodeId"] == 48_000 and ncp.commands_total == 48_001  # + version


def test_a_flood_of_transient_keys_and_timeouts_is_refused_past_the_table_size():
    host = fresh(13)
    statuses = set()
    for i in range(1000):
        eui64 = zt.EUI64(i.to_bytes(8, "little"))
        statuses.add(host.response("importTransientKey", eui64=eui64, plaintext_key=t.KeyData(b"K" * 16),
                                   flags=t.SecurityManagerContextFlags.NONE)["status"])  # fmt: skip
        host.response("setExtendedTimeout", remoteEui64=eui64, extendedTimeout=True)
    assert statuses == {t.sl_Status.OK, t.sl_Status.FULL}
    assert len(host.ncp._ram.transient_keys) <= 32
    assert len(host.ncp._ram.extended_timeouts) <= host.ncp._ram.config_value(t.EzspConfigId.CONFIG_ADDRESS_TABLE_SIZE)


@pytest.mark.parametrize("junk", [b"\x01", b"\x01\x00", b"\x05\x00\x01\x52\x00", b"\x05\x00\x01\xAA\x00\x01\x02\x03",
                                  b"\x05\x00\x01\x34\x00" + b"\xff" * 40])  # fmt: skip
def test_malformed_frames_get_an_answer_or_nothing_and_the_ncp_stays_usable(junk):
    host = fresh(13)
    host.raw(junk)  # no exception escapes into the transport
    assert host.response("getNodeId") == {"nodeId": 0xFFFE}
    assert host.ncp.handler_errors == []


@pytest.mark.parametrize("version", VERSIONS)
def test_send_broadcast_echoes_the_tag_and_destination_in_message_sent(version):
    host = formed(version)
    tag = 0xBEEF if version >= 14 else 0x42
    if version >= 14:
        body, callbacks = host.command("sendBroadcast", alias=0, destination=0xFFFC, sequence=0,
                                       aps_frame=_aps(0x0036), radius=0, message_tag=tag,
                                       message=t.LVBytes(b"\x01\x3c\x01"))  # fmt: skip
    else:
        body, callbacks = host.command("sendBroadcast", destination=0xFFFC, apsFrame=_aps(0x0036), radius=0,
                                       messageTag=tag, messageContents=t.LVBytes(b"\x01\x3c\x01"))  # fmt: skip
    assert status_of(body, version) == 0 and len(body) == status_size(version) + 1
    (sent,) = callbacks
    codec = host.ncp.codec
    fields, rest = t.deserialize_dict(sent[len(codec._header(0, 0, "messageSentHandler", codec.native_header)):],
                                      codec.commands["messageSentHandler"][2])  # fmt: skip
    assert rest == b""
    if version >= 14:
        assert (fields["message_tag"], fields["nwk"], fields["aps_frame"].sequence) == (tag, 0xFFFC, body[-1])
        assert fields["message_type"] == t.EmberOutgoingMessageType.OUTGOING_BROADCAST
    else:
        assert (fields["messageTag"], fields["indexOrDestination"], fields["apsFrame"].sequence) == (tag, 0xFFFC, body[-1])
        assert fields["type"] == t.EmberOutgoingMessageType.OUTGOING_BROADCAST
