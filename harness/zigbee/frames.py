"""Peel one captured PSDU layer by layer (MAC -> NWK -> APS -> ZDO/ZCL) with a key ring, as the sniffer does.

Like Wireshark, the ring tries every network key whose sequence number matches and every link key until a MIC
verifies, remembers NWK short -> EUI-64 pairs it sees (for APS frames without an extended nonce), and, with
`learn=True`, adds a network key it reads from a decrypted APS Transport Key.

Decoding never stops with an exception above the MAC: a layer that cannot be opened (no key, bad MIC, not
ZigBee) leaves its SecuredPayload or bytes in place and a line in `notes` saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from zigpy.types import EUI64, KeyData

from harness.errors import DecodeError, SecurityError
from harness.zigbee.aps import ApsFrame, ApsFrameType, TransportNetworkKey
from harness.zigbee.auxsec import KeyId, SecuredPayload
from harness.zigbee.mac import MacFrame, MacFrameType
from harness.zigbee.nwk import NwkFrame, NwkFrameType
from harness.zigbee.wire import as_key
from harness.zigbee.zcl import ZclMessage
from harness.zigbee.zdo import ZDO_PROFILE, ZdoMessage

__all__ = ["KeyRing", "DecodedFrame", "decode_frame"]

_T = TypeVar("_T")


@dataclass
class KeyRing:
    """Keys a decoder may use: network keys by key sequence number, link keys by the device's EUI-64
    (the raw link key, e.g. from an install code; KTK/KLK are derived per frame)."""

    network_keys: dict[int, KeyData] = field(default_factory=dict, repr=False)  # secrets: kept out of repr
    link_keys: dict[EUI64, KeyData] = field(default_factory=dict, repr=False)
    addresses: dict[int, EUI64] = field(default_factory=dict)  # NWK short -> EUI-64, learned from frames

    def add_network_key(self, key: bytes | KeyData, seq: int = 0) -> None:
        self.network_keys[seq] = KeyData(as_key(key, "network key"))

    def add_link_key(self, eui64: EUI64, key: bytes | KeyData) -> None:
        self.link_keys[eui64] = KeyData(as_key(key, f"link key of {eui64}"))

    def link_key_candidates(self, *euis: EUI64 | None) -> list[KeyData]:
        """The link keys of the named devices first, then every other one."""
        first = [self.link_keys[e] for e in euis if e is not None and e in self.link_keys]
        return first + [k for k in self.link_keys.values() if k not in first]


@dataclass
class DecodedFrame:
    mac: MacFrame
    nwk: NwkFrame | None = None
    aps: ApsFrame | None = None
    zdo: ZdoMessage | None = None
    zcl: ZclMessage | None = None
    notes: list[str] = field(default_factory=list)


def decode_frame(psdu: bytes, keys: KeyRing | None = None, *, with_fcs: bool = True,
                 learn: bool = True) -> DecodedFrame:
    """Decode a PSDU (with FCS by default). Raises DecodeError only if the MAC frame itself is bad."""
    keys = keys if keys is not None else KeyRing()
    decoded = DecodedFrame(MacFrame.from_bytes(psdu, with_fcs=with_fcs))
    mac = decoded.mac
    if mac.frame_type is not MacFrameType.DATA or not isinstance(mac.payload, bytes) or not mac.payload:
        return decoded
    nwk = _decode_or_note(NwkFrame.from_bytes, mac.payload, decoded.notes, "not a ZigBee NWK frame: ")
    if nwk is None:
        return decoded
    decoded.nwk = nwk = _open_nwk(nwk, keys, decoded.notes)
    if nwk.src_ieee is not None:
        keys.addresses[nwk.src] = nwk.src_ieee
    if nwk.security is not None and nwk.security.source is not None:
        keys.addresses.setdefault(nwk.src, nwk.security.source)
    if nwk.frame_type is not NwkFrameType.DATA or not isinstance(nwk.payload, bytes):
        return decoded
    aps = _decode_or_note(ApsFrame.from_bytes, nwk.payload, decoded.notes, "APS: ")
    if aps is None:
        return decoded
    decoded.aps = aps = _open_aps(aps, nwk, keys, decoded.notes)
    if aps.frame_type is ApsFrameType.COMMAND and isinstance(aps.payload, TransportNetworkKey) and learn:
        keys.network_keys.setdefault(aps.payload.key_seq, aps.payload.key)
    if aps.frame_type is ApsFrameType.DATA and isinstance(aps.payload, bytes):
        cluster = aps.cluster_id or 0
        if aps.profile_id == ZDO_PROFILE:
            decoded.zdo = _decode_or_note(partial(ZdoMessage.from_bytes, cluster), aps.payload, decoded.notes)
        else:
            decoded.zcl = _decode_or_note(partial(ZclMessage.from_bytes, cluster), aps.payload, decoded.notes)
    return decoded


def _decode_or_note(decode: Callable[[bytes], _T], data: bytes, notes: list[str], prefix: str = "") -> _T | None:
    """Decoding above the MAC never raises: a layer that does not decode is a line in `notes` instead."""
    try:
        return decode(data)
    except DecodeError as exc:
        notes.append(f"{prefix}{exc}")
        return None


def _open_nwk(nwk: NwkFrame, keys: KeyRing, notes: list[str]) -> NwkFrame:
    if not isinstance(nwk.payload, SecuredPayload) or nwk.security is None:
        return nwk
    key = keys.network_keys.get(nwk.security.key_seq or 0)
    if key is None:
        notes.append(f"NWK payload not decrypted: no network key with sequence number {nwk.security.key_seq}")
        return nwk
    try:
        return nwk.decrypt(key)
    except (SecurityError, DecodeError) as exc:
        notes.append(f"NWK payload not decrypted: {exc}")
        return nwk


def _open_aps(aps: ApsFrame, nwk: NwkFrame, keys: KeyRing, notes: list[str]) -> ApsFrame:
    if not isinstance(aps.payload, SecuredPayload) or aps.security is None:
        return aps
    sender = aps.security.source or nwk.src_ieee or keys.addresses.get(nwk.src)
    if aps.security.key_id is KeyId.NETWORK:
        candidates = list(keys.network_keys.values())
    else:
        candidates = keys.link_key_candidates(sender, nwk.dst_ieee, keys.addresses.get(nwk.dst))
    if sender is None:
        notes.append(f"APS payload not decrypted: sender of NWK 0x{nwk.src:04X} unknown for the nonce")
        return aps
    for key in candidates:
        try:
            return aps.decrypt(key, sender=sender)
        except SecurityError:
            continue
        except DecodeError as exc:
            notes.append(f"APS payload decrypted but does not decode: {exc}")
            return aps
    notes.append(f"APS payload not decrypted: no {aps.security.key_id.name} key verified the MIC "
                 f"({len(candidates)} tried)")
    return aps
