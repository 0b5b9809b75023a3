"""What an emulated NCP keeps across RST, a closed port and a reconnect: its NV3 tokens, in JSON.

A real EmberZNet stick forgets config, policies, endpoints and transient keys on every reset but keeps the
network (formed flag, PAN, keys, frame counters, key table, children) in flash; bellows resets it twice while
forming and expects the network back (research/ezsp.md 2.3, 6 "keep a state model"). `NvState` is that flash.

It can be seeded from a zigpy "open coordinator backup" JSON, e.g. one taken from a real stick, so the emulator
comes up on the same network (research/ezsp.md 2.7, 9.4).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import bellows.types as t
import zigpy.backups
import zigpy.types as zt

from harness.errors import InputError

ZERO_KEY = "00" * 16
ZERO_EUI64 = "00:00:00:00:00:00:00:00"
WELL_KNOWN_TCLK = zt.KeyData(b"ZigBeeAlliance09")


@dataclass
class LinkKeyEntry:
    """One APS link key table entry (the key table bellows reads with exportLinkKeyByIndex)."""

    eui64: str
    key: str = field(repr=False)  # 32 hex digits; a secret, so kept out of repr
    tx_counter: int = 0
    rx_counter: int = 0


@dataclass
class ChildEntry:
    eui64: str
    nwk: int
    node_type: int = int(t.EmberNodeType.SLEEPY_END_DEVICE)


@dataclass
class NvState:
    """The NCP's non-volatile state. Keys are hex strings, EUI-64s colon-separated, as in zigpy backups."""

    formed: bool = False
    eui64: str | None = None  # a restored EUI-64 that overrides the factory one (NV3 RESTORED_EUI64)
    node_id: int = 0x0000
    node_type: int = int(t.EmberNodeType.COORDINATOR)  # ROUTER once joined as one (ncp/joining.py)
    pan_id: int = 0xFFFF
    extended_pan_id: str = ZERO_EUI64
    channel: int = 0
    tx_power: int = 8
    channels: int = 0
    nwk_manager_id: int = 0x0000
    nwk_update_id: int = 0
    network_key: str = field(default=ZERO_KEY, repr=False)  # secrets: kept out of repr
    network_key_seq: int = 0
    tc_link_key: str = field(default=ZERO_KEY, repr=False)  # the preconfigured key: the hashed TCLK when the TC uses hashed keys
    security_bitmask: int = 0  # EmberInitialSecurityBitmask as given to setInitialSecurityState
    nwk_frame_counter: int = 0
    aps_frame_counter: int = 0
    key_table: list[LinkKeyEntry] = field(default_factory=list)
    children: list[ChildEntry] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)  # "0x0001E12A:0" -> hex value (NV3 tokens)
    mfg_tokens: dict[str, str] = field(default_factory=dict)  # EzspMfgTokenId name -> hex (write-once)

    # ---- lifecycle ----------------------------------------------------------------------------------------

    def factory_reset(self, *, keep_outgoing_frame_counters: bool = False) -> None:
        """tokenFactoryReset / clearing the stack tokens: the network is gone. Manufacturing tokens stay."""
        blank = NvState()
        keep = {"mfg_tokens"}
        if keep_outgoing_frame_counters:
            keep |= {"nwk_frame_counter", "aps_frame_counter"}
        for f in dataclasses.fields(self):
            if f.name not in keep:
                setattr(self, f.name, getattr(blank, f.name))

    def leave(self) -> None:
        """leaveNetwork: the network tokens are erased; keys and counters go with them."""
        self.formed = False
        self.children = []

    # ---- JSON ---------------------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> NvState:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(obj) - names)
        if unknown:
            raise InputError(f"unknown NV state field(s) {', '.join(unknown)}", where="nvstate")
        data = dict(obj)
        data["key_table"] = [LinkKeyEntry(**k) for k in obj.get("key_table", [])]
        data["children"] = [ChildEntry(**c) for c in obj.get("children", [])]
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NvState:
        return cls.from_dict(json.loads(text))

    # ---- seeding from a zigpy backup ----------------------------------------------------------------------

    @classmethod
    def from_zigpy_backup(cls, backup_json: dict[str, Any]) -> NvState:
        """NV state for the network in a zigpy backup (open-coordinator-backup JSON or zigpy's own dict)."""
        try:
            backup = zigpy.backups.NetworkBackup.from_dict(backup_json)
        except Exception as exc:  # noqa: BLE001 - zigpy raises several types for a malformed backup
            raise InputError(f"not a zigpy network backup: {exc}", where="backup") from exc
        if not backup.is_complete():
            raise InputError("backup is incomplete (no EUI-64, PAN, channel or network key)", where="backup")
        net, node = backup.network_info, backup.node_info
        hashed = net.stack_specific.get("ezsp", {}).get("hashed_tclk")
        bits = (
            t.EmberInitialSecurityBitmask.HAVE_PRECONFIGURED_KEY
            | t.EmberInitialSecurityBitmask.REQUIRE_ENCRYPTED_KEY
            | t.EmberInitialSecurityBitmask.TRUST_CENTER_GLOBAL_LINK_KEY
            | t.EmberInitialSecurityBitmask.HAVE_NETWORK_KEY
            | t.EmberInitialSecurityBitmask.NO_FRAME_COUNTER_RESET
            | t.EmberInitialSecurityBitmask.HAVE_TRUST_CENTER_EUI64
        )
        if hashed:
            bits |= t.EmberInitialSecurityBitmask.TRUST_CENTER_USES_HASHED_LINK_KEY
            tclk = bytes.fromhex(hashed).hex()
        else:
            tclk = bytes(net.tc_link_key.key).hex()
        return cls(
            formed=True,
            eui64=str(node.ieee),
            node_id=int(node.nwk),
            pan_id=int(net.pan_id),
            extended_pan_id=str(zt.EUI64(net.extended_pan_id)),
            channel=int(net.channel),
            tx_power=int(net.tx_power) if net.tx_power is not None else 8,
            channels=int(net.channel_mask),
            nwk_manager_id=int(net.nwk_manager_id),
            nwk_update_id=int(net.nwk_update_id),
            network_key=bytes(net.network_key.key).hex(),
            network_key_seq=int(net.network_key.seq),
            tc_link_key=tclk,
            security_bitmask=int(bits),
            nwk_frame_counter=int(net.network_key.tx_counter),
            aps_frame_counter=int(net.tc_link_key.tx_counter),
            key_table=[
                LinkKeyEntry(str(k.partner_ieee), bytes(k.key).hex(), int(k.tx_counter), int(k.rx_counter))
                for k in net.key_table
            ],
            children=[
                ChildEntry(str(ieee), int(net.nwk_addresses[ieee]))
                for ieee in net.children
                if ieee in net.nwk_addresses
            ],
        )
