"""Variants of rigs/emulated.yaml with distinct identities, so two benches' evidence can be told apart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.rig import Rig, load_rig

EMULATED_RIG = Path(__file__).resolve().parents[2] / "rigs" / "emulated.yaml"


def rig_with_esme(eui64: str, *, only_esme: bool = True) -> Rig:
    """The emulated rig with its ESME renamed to `eui64` (DCC form), optionally without its other devices."""
    rig = load_rig(EMULATED_RIG)
    esme = dataclasses.replace(rig.devices["esme"], eui64=eui64)
    devices = {"esme": esme} if only_esme else {**rig.devices, "esme": esme}
    return dataclasses.replace(rig, devices=devices)
