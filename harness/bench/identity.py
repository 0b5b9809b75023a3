"""The coordinator's identity against the rig: its EUI-64 is the hub's (`hub.eui64`: in topology 1 the
coordinator is the Comms Hub's HAN radio) or, with the hub under test, the meter's the stick plays, and its network is on the rig's channel and PAN when the rig names them.

An emulated coordinator is made with these; a real stick has its own EUI-64 burned in and a stored network, so
`rig check` and the bench's start compare and stop on a mismatch, naming both values and what to change.
"""

from __future__ import annotations

from harness.rig import Rig


def _dcc(eui64: object) -> str:
    return str(eui64).upper().replace(":", "-")


def expected_eui64(rig: Rig) -> tuple[str, str, str]:
    """The EUI-64 the coordinator must carry, the rig field that says so, and why.

    Topology 1: the coordinator is the hub's HAN radio. Topology 2 (hub under test): the stick plays a meter, so it
    carries that device's EUI-64 (the one the DCC's SMI and the hub's device log know)."""
    if rig.hub.under_test:
        role, device = next(((r, d) for r, d in rig.devices.items() if d.kind == "stick"), (None, None))
        if device is not None:
            return (device.eui64, f"devices.{role}.eui64",
                    "in topology 2 the stick plays this meter, so the hub and the DCC see this EUI-64")
    return (rig.hub.eui64, "hub.eui64", "in topology 1 the coordinator is the hub's HAN radio, so the meters and "
                                       "device logs see this EUI-64")


def identity_problems(rig: Rig, *, eui64: object, channel: int | None, pan_id: int | None) -> list[str]:
    """One sentence per way the coordinator differs from the rig; empty when it is the rig's."""
    problems = []
    expected, field, role = expected_eui64(rig)
    if _dcc(eui64) != expected:
        problems.append(
            f"the coordinator's EUI-64 is {_dcc(eui64)} but the rig says {expected} ({field}: {role}); plug in the "
            f"rig's stick, or put the stick's EUI-64 in {field} of {rig.path}")
    c = rig.coordinator
    if c.channel is not None and channel is not None and channel != c.channel:
        problems.append(f"the coordinator's network is on channel {channel} but the rig says coordinator.channel "
                        f"{c.channel} (coordinator.clean_state: reform forms the rig's network)")
    if c.pan_id is not None and pan_id is not None and pan_id != c.pan_id:
        problems.append(f"the coordinator's network has PAN ID 0x{pan_id:04X} but the rig says coordinator.pan_id "
                        f"0x{c.pan_id:04X} (coordinator.clean_state: reform forms the rig's network)")
    return problems


def network_config(rig: Rig) -> dict[str, object]:
    """zigpy `network` settings that make a formed (or re-formed) network the rig's."""
    out: dict[str, object] = {}
    if rig.coordinator.channel is not None:
        out["channel"] = rig.coordinator.channel
        out["channels"] = [rig.coordinator.channel]
    if rig.coordinator.pan_id is not None:
        out["pan_id"] = rig.coordinator.pan_id
    return out
