"""Security and trust-centre handlers of the emulated NCP: initial/current security state, network and TC
keys, the APS link-key table, transient (install-code) keys and policies (research/ezsp.md 2.4, 2.6, 2.8).

Also the `TrustCentreKeys` side of harness/emulation/stack_api.py: the trust centre on the radio side decides
joins from `policy_bitmask()` and `transient_key_for()`, and secures APS data with `link_key_for()`.
"""

from __future__ import annotations

from collections.abc import Callable

import bellows.types as t
import zigpy.types as zt

from harness.emulation.ncp.nvstate import LinkKeyEntry, NvState
from harness.emulation.ncp.ram import NcpRam, TransientKey

OK = t.sl_Status.OK
WILDCARD_EUI64 = zt.EUI64.convert("FF:FF:FF:FF:FF:FF:FF:FF")
NO_KEY_INDEX = 0xFF
DEFAULT_TC_POLICY = 0x0001  # ALLOW_JOINS, until the host sets its own
# Transient-key table entries (EmberZNet keeps them in a small RAM table; the exact size is build-dependent):
# beyond it importTransientKey answers TABLE_FULL (sl_Status FULL), so a host cannot grow the emulator's memory without bound.
TRANSIENT_KEY_TABLE_SIZE = 32


class SecurityHandlers:
    """Mixin of EmulatedNcp."""

    nv: NvState
    _ram: NcpRam
    _clock: Callable[[], float]

    eui64: zt.EUI64  # provided by EmulatedNcp

    def cmd_setInitialSecurityState(self, p: dict) -> dict:
        if self._ram.network_up:
            return {"status": t.sl_Status.INVALID_STATE}
        self._ram.pending_security = p["state"]
        return {"status": OK}

    def cmd_getCurrentSecurityState(self, p: dict) -> dict:
        bits = t.EmberCurrentSecurityBitmask.HAVE_TRUST_CENTER_LINK_KEY
        initial = t.EmberInitialSecurityBitmask(self.nv.security_bitmask)
        if t.EmberInitialSecurityBitmask.TRUST_CENTER_GLOBAL_LINK_KEY in initial:
            bits |= t.EmberCurrentSecurityBitmask.GLOBAL_LINK_KEY
        if t.EmberInitialSecurityBitmask.TRUST_CENTER_USES_HASHED_LINK_KEY in initial:
            bits |= t.EmberCurrentSecurityBitmask.TRUST_CENTER_USES_HASHED_LINK_KEY
        state = t.EmberCurrentSecurityState(bitmask=bits, trustCenterLongAddress=self.eui64)
        status = OK if self._ram.network_up else t.sl_Status.NOT_JOINED
        return {"status": status, "state": state}

    def cmd_exportKey(self, p: dict) -> dict:
        context: t.SecurityManagerContextV13 = p["context"]
        kind = context.core_key_type
        if not self.nv.formed and kind != t.SecurityManagerKeyType.APP_LINK:
            return {"status": t.sl_Status.NOT_FOUND, "context": context}  # no network, so no network/TC key
        if kind == t.SecurityManagerKeyType.NETWORK:
            key = self.nv.network_key
        elif kind in (t.SecurityManagerKeyType.TC_LINK, t.SecurityManagerKeyType.TC_LINK_WITH_TIMEOUT):
            key = self.nv.tc_link_key
        elif kind == t.SecurityManagerKeyType.APP_LINK and context.key_index < len(self.nv.key_table):
            key = self.nv.key_table[context.key_index].key
        else:
            return {"status": t.sl_Status.NOT_FOUND, "context": context}
        return {"status": OK, "key": t.KeyData(bytes.fromhex(key)), "context": context}

    def cmd_getNetworkKeyInfo(self, p: dict) -> dict:
        info = t.SecurityManagerNetworkKeyInfo(
            network_key_set=self.nv.formed,
            alternate_network_key_set=False,
            network_key_sequence_number=self.nv.network_key_seq,
            alt_network_key_sequence_number=0,
            network_key_frame_counter=self.nv.nwk_frame_counter,
        )
        return {"status": OK, "network_key_info": info}

    def cmd_getKey(self, p: dict) -> dict:
        """EZSP < 13: the network key and the TC link key as EmberKeyStruct."""
        kind = p["keyType"]
        b = t.EmberKeyStructBitmask
        if kind == t.EmberKeyType.CURRENT_NETWORK_KEY:
            key = t.EmberKeyStruct(
                bitmask=b.KEY_HAS_SEQUENCE_NUMBER | b.KEY_HAS_OUTGOING_FRAME_COUNTER,
                type=kind, key=t.KeyData(bytes.fromhex(self.nv.network_key)),
                outgoingFrameCounter=self.nv.nwk_frame_counter, incomingFrameCounter=0,
                sequenceNumber=self.nv.network_key_seq, partnerEUI64=zt.EUI64([0] * 8),
            )  # fmt: skip
        elif kind == t.EmberKeyType.TRUST_CENTER_LINK_KEY:
            key = t.EmberKeyStruct(
                bitmask=b.KEY_HAS_OUTGOING_FRAME_COUNTER | b.KEY_HAS_PARTNER_EUI64,
                type=kind, key=t.KeyData(bytes.fromhex(self.nv.tc_link_key)),
                outgoingFrameCounter=self.nv.aps_frame_counter, incomingFrameCounter=0,
                sequenceNumber=0, partnerEUI64=self.eui64,
            )  # fmt: skip
        else:
            return {"status": t.sl_Status.NOT_FOUND}
        return {"status": OK, "keyStruct": key}

    def _key_table_size(self) -> int:
        return self._ram.config_value(t.EzspConfigId.CONFIG_KEY_TABLE_SIZE)

    def cmd_getKeyTableEntry(self, p: dict) -> dict:
        index = int(p["index"])
        if index >= self._key_table_size():
            return {"status": t.sl_Status.INVALID_INDEX}
        if index >= len(self.nv.key_table):
            return {"status": t.sl_Status.NOT_FOUND}
        entry = self.nv.key_table[index]
        b = t.EmberKeyStructBitmask
        return {
            "status": OK,
            "keyStruct": t.EmberKeyStruct(
                bitmask=b.KEY_HAS_PARTNER_EUI64 | b.KEY_HAS_OUTGOING_FRAME_COUNTER | b.KEY_HAS_INCOMING_FRAME_COUNTER,
                type=t.EmberKeyType.APPLICATION_LINK_KEY, key=t.KeyData(bytes.fromhex(entry.key)),
                outgoingFrameCounter=entry.tx_counter, incomingFrameCounter=entry.rx_counter,
                sequenceNumber=0, partnerEUI64=zt.EUI64.convert(entry.eui64),
            ),  # fmt: skip
        }

    def cmd_addOrUpdateKeyTableEntry(self, p: dict) -> dict:
        return self._store_link_key(None, p["address"], p["keyData"])

    def cmd_importLinkKey(self, p: dict) -> dict:
        return self._store_link_key(int(p["index"]), p["address"], p["key"])

    def _store_link_key(self, index: int | None, address: zt.EUI64, key: zt.KeyData) -> dict:
        table = self.nv.key_table
        entry = LinkKeyEntry(str(zt.EUI64(address)), bytes(key).hex())
        existing = next((i for i, e in enumerate(table) if e.eui64 == entry.eui64), None)
        if index is None:
            index = existing if existing is not None else len(table)
        if index >= self._key_table_size():
            return {"status": t.sl_Status.INVALID_INDEX}
        if index < len(table):
            table[index] = entry
        else:
            table.append(entry)
        return {"status": OK}

    def cmd_exportLinkKeyByIndex(self, p: dict) -> dict:
        index = int(p["index"])
        if index >= len(self.nv.key_table):
            return {"status": t.sl_Status.NOT_FOUND}
        entry = self.nv.key_table[index]
        eui64 = zt.EUI64.convert(entry.eui64)
        b = t.EmberKeyStructBitmask
        return {
            "status": OK,
            "eui64": eui64,
            "plaintext_key": t.KeyData(bytes.fromhex(entry.key)),
            "key_data": t.SecurityManagerAPSKeyMetadata(
                bitmask=b.KEY_HAS_PARTNER_EUI64 | b.KEY_HAS_OUTGOING_FRAME_COUNTER | b.KEY_HAS_INCOMING_FRAME_COUNTER,
                outgoing_frame_counter=entry.tx_counter, incoming_frame_counter=entry.rx_counter, ttl_in_seconds=0,
            ),  # fmt: skip
            "context": t.SecurityManagerContextV13(
                core_key_type=t.SecurityManagerKeyType.APP_LINK, key_index=index,
                derived_type=t.SecurityManagerDerivedKeyTypeV13.NONE, eui64=eui64, multi_network_index=0,
                flags=t.SecurityManagerContextFlags.NONE, psa_key_alg_permission=0,
            ),  # fmt: skip
        }

    def cmd_findKeyTableEntry(self, p: dict) -> dict:
        wanted = str(zt.EUI64(p["address"]))
        index = next((i for i, e in enumerate(self.nv.key_table) if e.eui64 == wanted), NO_KEY_INDEX)
        return {"index": index}

    def cmd_eraseKeyTableEntry(self, p: dict) -> dict:
        index = int(p["index"])
        if index >= len(self.nv.key_table):
            return {"status": t.sl_Status.INVALID_INDEX}
        del self.nv.key_table[index]
        return {"status": OK}

    def cmd_clearKeyTable(self, p: dict) -> dict:
        self.nv.key_table = []
        return {"status": OK}

    def _add_transient_key(self, eui64: zt.EUI64, key: zt.KeyData) -> dict:
        now = self._clock()
        keys = self._ram.transient_keys
        for stale in [e for e, entry in keys.items() if entry.expires_at <= now]:
            del keys[stale]
        if zt.EUI64(eui64) not in keys and len(keys) >= TRANSIENT_KEY_TABLE_SIZE:
            return {"status": t.sl_Status.FULL}
        timeout = self._ram.config_value(t.EzspConfigId.CONFIG_TRANSIENT_KEY_TIMEOUT_S)
        keys[zt.EUI64(eui64)] = TransientKey(zt.KeyData(key), now + timeout)
        return {"status": OK}

    def cmd_importTransientKey(self, p: dict) -> dict:
        return self._add_transient_key(p["eui64"], p["plaintext_key"])

    def cmd_addTransientLinkKey(self, p: dict) -> dict:
        return self._add_transient_key(p["partner"], p["transientKey"])

    def cmd_clearTransientLinkKeys(self, p: dict) -> dict:
        self._ram.transient_keys.clear()
        return {}

    def cmd_setPolicy(self, p: dict) -> dict:
        # TRUST_CENTER_POLICY carries an EzspDecisionBitmask from v8 although typed EzspDecisionId
        # (research/ezsp.md 1.4 caveat 2): keep the raw number.
        self._ram.policies[int(p["policyId"])] = int(p["decisionId"])
        return {"status": OK}

    def cmd_getPolicy(self, p: dict) -> dict:
        policy = int(p["policyId"])
        if policy not in self._ram.policies and policy != t.EzspPolicyId.TRUST_CENTER_POLICY:
            return {"status": t.EzspStatus.ERROR_INVALID_ID}
        return {"status": OK, "decisionId": self._ram.policies.get(policy, DEFAULT_TC_POLICY)}

    # ---- TrustCentreKeys (what the stack's trust centre decides joins from) --------------------------------

    def policy_bitmask(self) -> int:
        return self._ram.policies.get(int(t.EzspPolicyId.TRUST_CENTER_POLICY), DEFAULT_TC_POLICY)

    def link_key_for(self, eui64: zt.EUI64) -> zt.KeyData | None:
        wanted = str(zt.EUI64(eui64))
        entry = next((e for e in self.nv.key_table if e.eui64 == wanted), None)
        return zt.KeyData(bytes.fromhex(entry.key)) if entry is not None else None

    def transient_key_for(self, eui64: zt.EUI64) -> zt.KeyData | None:
        now = self._clock()
        for candidate in (zt.EUI64(eui64), WILDCARD_EUI64):
            entry = self._ram.transient_keys.get(candidate)
            if entry is not None and entry.expires_at > now:
                return entry.key
        return None
