"""`EmulatedHan`: a whole emulated HAN — medium, coordinator stack (for the emulated NCP) and SE devices.

    han = EmulatedHan([DeviceSpec("esme", "00:0d:6f:00:00:00:00:01", "83FED340...C3B5")], pcap_path="join.pcap")
    ncp = han.make_ncp(13, eui64="00:12:4b:00:00:00:00:01")      # EmulatedNcp(stack=han.stack)
    han.start()                                                   # devices power on and start scanning
    ...
    await han.close()                                             # devices off, pcap + key table written

The pcap's key table holds only the devices' install-code link keys: Wireshark learns the network key from
the Transport Key it decrypts with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from zigpy.types import EUI64, KeyData

from harness.emulation.devices import DEVICE_KINDS, EmulatedDevice
from harness.emulation.medium import Medium, PcapSniffer
from harness.emulation.stack import EmulatedCoordinatorStack
from harness.errors import InputError
from harness.zigbee.installcode import CRC_MODES, CrcMode

if TYPE_CHECKING:
    from harness.emulation.ncp.ncp import EmulatedNcp

__all__ = ["DeviceKind", "DeviceSpec", "EmulatedHan"]

DeviceKind = Literal["esme", "gsme", "ihd"]


@dataclass(frozen=True)
class DeviceSpec:
    """One emulated device: its kind, EUI-64, install code (hex, with or without CRC) and CRC mode.

    `options` go to the device constructor (scan_interval, poll_interval, key_timeout, channels, ...).
    """

    kind: DeviceKind
    eui64: EUI64 | str
    install_code: str
    crc_mode: CrcMode = "append"
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in DEVICE_KINDS:
            raise InputError(f"device kind {self.kind!r} is not one of {', '.join(DEVICE_KINDS)}",
                             where=f"device {self.eui64}")
        if self.crc_mode not in CRC_MODES:
            raise InputError(f"crc_mode {self.crc_mode!r} is not one of {', '.join(CRC_MODES)}",
                             where=f"device {self.eui64}")

    @classmethod
    def parse(cls, text: str) -> "DeviceSpec":
        """`kind:eui64:install_code[:crc_mode]` with the EUI-64 as 16 hex digits or colon-separated
        (e.g. `esme:000d6f0000000001:83FED3407A939723A5C639B26916D505C3B5`)."""
        pieces = text.strip().split(":")
        if len(pieces) >= 9:  # colon-separated EUI-64: kind + 8 octets + code [+ crc mode]
            parts = [pieces[0], ":".join(pieces[1:9]), *pieces[9:]]
        else:
            parts = pieces
        if len(parts) not in (3, 4) or not all(parts):
            raise InputError("expected kind:eui64:install_code[:crc_mode]", where=f"device spec {text!r}")
        eui_text = parts[1]
        if ":" not in eui_text:
            if len(eui_text) != 16:
                raise InputError(f"EUI-64 {eui_text!r} is not 16 hex digits", where="device spec")
            eui_text = ":".join(eui_text[i : i + 2] for i in range(0, 16, 2))
        try:
            eui = EUI64.convert(eui_text)
        except ValueError:
            raise InputError(f"EUI-64 {eui_text!r} is not valid", where="device spec") from None
        return cls(parts[0], eui, parts[2], parts[3] if len(parts) == 4 else "append")  # type: ignore[arg-type]


class EmulatedHan:
    """Medium + coordinator stack + devices. Construct anywhere; start() and close() inside the event loop."""

    def __init__(
        self,
        devices: Iterable[DeviceSpec] = (),
        *,
        pcap_path: str | Path | None = None,
        seed: int = 0,
        wildcard_satisfies_install_code_policy: bool = False,
        device_options: dict[str, Any] | None = None,
        pcap_flush_interval: float | None = None,
    ) -> None:
        self.medium = Medium(seed=seed)
        self.stack = EmulatedCoordinatorStack(
            self.medium,
            wildcard_satisfies_install_code_policy=wildcard_satisfies_install_code_policy,
            address_seed=seed,
        )
        self.device_options = dict(device_options or {})
        self.devices: dict[EUI64, EmulatedDevice] = {}
        self.sniffer = (PcapSniffer(self.medium, pcap_path, flush_interval=pcap_flush_interval)
                        if pcap_path is not None else None)
        for spec in devices:
            self.add_device(spec)

    def add_device(self, spec: DeviceSpec) -> EmulatedDevice:
        options = {**self.device_options, **spec.options}
        device = DEVICE_KINDS[spec.kind](self.medium, spec.eui64, spec.install_code, crc_mode=spec.crc_mode,
                                         **options)
        if device.eui64 in self.devices or device.eui64 == self.stack.eui64:
            raise InputError(f"EUI-64 {device.eui64} is used twice", where=f"device {spec.kind}")
        self.devices[device.eui64] = device
        if self.sniffer is not None:
            self.sniffer.add_key(device.link_key, f"{spec.kind} {device.eui64} install-code link key")
            sniffer = self.sniffer
            device.on_key_established.append(
                lambda d, key: sniffer.add_key(KeyData(key), f"{d.kind} {d.eui64} CBKE link key"))
        return device

    def device(self, eui64: EUI64 | str) -> EmulatedDevice:
        key = EUI64.convert(eui64) if isinstance(eui64, str) else EUI64(eui64)
        try:
            return self.devices[key]
        except KeyError:
            raise KeyError(f"no emulated device {key}") from None

    def make_ncp(self, ezsp_version: int, *, eui64: EUI64 | str, strict: bool = False, **options: Any) -> EmulatedNcp:
        """The emulated NCP with this HAN's coordinator stack as its radio."""
        from harness.emulation.ncp.ncp import EmulatedNcp  # the NCP is optional for radio-only use

        return EmulatedNcp(ezsp_version, eui64=eui64, strict=strict, stack=self.stack, **options)

    def start(self, devices: Sequence[EUI64] | None = None) -> None:
        """Power on the devices (all, or those given); they start scanning for a network to join."""
        for eui64, device in self.devices.items():
            if devices is None or eui64 in devices:
                device.power_on()

    @property
    def pcap_path(self) -> Path | None:
        return self.sniffer.path if self.sniffer is not None else None

    async def close(self) -> None:
        for device in self.devices.values():
            await device.power_off()
        self.stack.stop()
        if self.sniffer is not None:
            self.sniffer.close()
