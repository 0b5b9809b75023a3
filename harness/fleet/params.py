"""Each premises' parameters, drawn from a seeded distribution: the same seed gives the same fleet.

A premises draws from its own generator seeded by (fleet seed, premises index), so premises 17 is the same whether
the fleet has 20 or 2,000 premises and whichever worker runs it. The distributions are test knobs chosen to reach
the interesting cases (a WAN outage past the 90-day first-connectivity target, a hand-over answered late), not
field statistics; docs/fleet.md lists them.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

# Negative controls: each premises runs the story to the point where the control bites and expects the refusal.
CONTROLS = ("wrong_code", "stranded", "losing_supplier")
# The controls that wait out a no-join window in real time (harness/fleet/story.py): ~3.5 s of wall time each,
# against ~1.5-2 s for a full story.
WAITING_CONTROLS = ("wrong_code", "stranded")
# EUI-64 blocks for the fleet's invented devices (00-DB-12 is the rig file's block; the low bytes number premises).
HUB_PREFIX = 0x00DB12A0_00000000
ESME_PREFIX = 0x00DB12E0_00000000


@dataclass(frozen=True)
class PremisesParams:
    index: int
    wan_outage_days: float  # install and leave -> SM WAN restored
    cos_day: float  # install -> change of supplier effective (before the WAN comes back, as DP121 tells it)
    handover_working_days: int  # the installing supplier answers the MP121 request after this many working days
    handover_late_by: int | None  # or this many working days after the 5-WD deadline
    control: str | None  # a negative control from CONTROLS, or None for the full story
    hub_eui64: str
    esme_eui64: str
    install_code: str = field(repr=False)  # 16 octets hex, a secret
    pan_id: int = 0x1A62  # the premises' own HAN (its coordinator starts on a formed network with these)
    extended_pan_id: str = "00:DB:12:A0:00:00:00:00"
    network_key: str = field(default="00" * 16, repr=False)  # a secret

    def to_json(self, *, reveal_secrets: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not reveal_secrets:
            for name in ("install_code", "network_key"):
                data[name] = f"<redacted 16 bytes …{data[name][-4:].upper()}>"
        return data


def _dcc_form(value: int) -> str:
    return "-".join(f"{b:02X}" for b in value.to_bytes(8, "big"))


def draw(seed: int, index: int, *, control_rate: float = 0.05) -> PremisesParams:
    if not 0.0 <= control_rate <= 1.0:
        raise ValueError(f"control rate {control_rate} is not in 0..1")
    rng = random.Random(f"smets2-fleet:{seed}:{index}")
    # Most WAN outages are weeks; one in ten runs past the 90-day target.
    outage = rng.uniform(91.0, 150.0) if rng.random() < 0.1 else rng.uniform(7.0, 89.0)
    cos_day = rng.uniform(1.0, max(1.0, outage - 1.0))
    late_by = rng.randint(1, 3) if rng.random() < 0.05 else None
    control = rng.choice(CONTROLS) if rng.random() < control_rate else None
    return PremisesParams(
        index=index,
        wan_outage_days=round(outage, 2),
        cos_day=round(cos_day, 2),
        handover_working_days=rng.randint(0, 5),
        handover_late_by=late_by,
        control=control,
        hub_eui64=_dcc_form(HUB_PREFIX + index),
        esme_eui64=_dcc_form(ESME_PREFIX + index),
        install_code=rng.randbytes(16).hex().upper(),
        pan_id=rng.randrange(0x0001, 0xFFF7),
        extended_pan_id=":".join(f"{b:02X}" for b in (HUB_PREFIX + index).to_bytes(8, "big")),
        network_key=rng.randbytes(16).hex(),
    )


def draw_fleet(seed: int, premises: int, *, control_rate: float = 0.05) -> list[PremisesParams]:
    return [draw(seed, i, control_rate=control_rate) for i in range(premises)]


def run_order(seed: int, premises: int, *, control_rate: float = 0.05) -> tuple[int, ...]:
    """The order a run starts its premises in (every index once). The premises that wait out a no-join window in
    real time are spread evenly over the first half of the run: one started near the end would finish seconds after
    the rest, its worker's core idle meanwhile (the 1,000-premises run's last two premises were such controls, 1.3 s
    after the others); bunched at the start they would fill a worker's slots with waiting. The rest keep their
    index order."""
    drawn = draw_fleet(seed, premises, control_rate=control_rate)
    waiting = [p.index for p in drawn if p.control in WAITING_CONTROLS]
    if not waiting:
        return tuple(range(premises))
    span = max(len(waiting), premises // 2)
    slots = {k * span // len(waiting) for k in range(len(waiting))}  # distinct: span >= len(waiting)
    early, rest = iter(waiting), iter(p.index for p in drawn if p.control not in WAITING_CONTROLS)
    return tuple(next(early) if position in slots else next(rest) for position in range(premises))
