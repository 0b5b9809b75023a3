"""The fleet's summary: outcomes by cause, latency percentiles, the 90-day measure, throughput; and its table."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

PERCENTILES = (50, 90, 99)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every figure is one premises' real value)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _spread(values: list[float]) -> dict[str, float | None]:
    out: dict[str, float | None] = {f"p{p}": percentile(values, p) for p in PERCENTILES}
    out["max"] = max(values) if values else None
    out["count"] = len(values)
    return out


def summarise(records: list[dict[str, Any]], *, wall_s: float, workers: int, seed: int,
              memory: dict[str, Any] | None = None) -> dict[str, Any]:
    failed = [r for r in records if r.get("outcome") != "passed"]
    stories = [r for r in records if not r.get("control")]
    controls = Counter(r["control"] for r in records if r.get("control"))
    controls_passed = Counter(r["control"] for r in records if r.get("control") and r.get("outcome") == "passed")
    joins = [r["join_latency_s"] for r in stories if r.get("join_latency_s") is not None]
    commissioning = [r["commissioning_days"] for r in stories if r.get("commissioning_days") is not None]
    met = sum(1 for r in stories if r.get("first_connectivity_met") is True)
    missed = sum(1 for r in stories if r.get("first_connectivity_met") is False)
    return {
        "premises": len(records),
        "passed": len(records) - len(failed),
        "failed": len(failed),
        "failed_by_cause": dict(Counter(r.get("cause") or "unknown" for r in failed).most_common()),
        "controls": {name: {"run": n, "passed": controls_passed[name]} for name, n in sorted(controls.items())},
        "join_latency_s": _spread(joins),
        "commissioning_virtual_days": _spread(commissioning),
        "first_connectivity_90_days": {"met": met, "missed": missed},
        "wall_s": wall_s,
        "premises_per_s": len(records) / wall_s if wall_s > 0 else None,
        "workers": workers,
        "seed": seed,
        "memory": memory or {},
        "bundles_kept": sum(1 for r in records if r.get("bundle")),
    }


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(summary: dict[str, Any]) -> str:
    lines = [
        f"premises {summary['premises']}: passed {summary['passed']}, failed {summary['failed']}"
        f"  ({summary['wall_s']:.1f} s wall, {_fmt(summary['premises_per_s'], 1)} premises/s, "
        f"{summary['workers']} workers, seed {summary['seed']})",
    ]
    if "transport" in summary:  # what path the premises ran: the throughput means nothing without it
        cbke = "off"
        if summary.get("cbke"):
            cbke = f"on (curve: {summary['curve_backend']})" if summary.get("curve_backend") else "on"
        frame_log = f", frame log {summary['frame_log']}" if summary.get("frame_log") else ""
        lines.append(f"path: bellows over the {summary['transport']} line, CBKE {cbke}, "
                     f"{summary.get('event_loop', 'asyncio')} event loop{frame_log}")
    if summary.get("interpreter"):
        lines.append(f"interpreter: {summary['interpreter']}")
    if summary.get("worker_errors"):
        lines.append("worker processes that failed (the others ran their premises):")
        lines += [f"  {error}" for error in summary["worker_errors"]]
    if summary["failed_by_cause"]:
        lines.append("failed by cause:")
        lines += [f"  {n:6d}  {cause}" for cause, n in summary["failed_by_cause"].items()]
    if summary["controls"]:
        lines.append("negative controls (passed = refused as expected):")
        lines += [f"  {c['passed']:6d} / {c['run']:<6d} {name}" for name, c in summary["controls"].items()]
    header = f"{'measure':34s}" + "".join(f"{f'p{p}':>9s}" for p in PERCENTILES) + f"{'max':>9s}{'n':>7s}"
    lines.append(header)
    for label, key in (("join latency (wall s)", "join_latency_s"),
                       ("commissioning (virtual days)", "commissioning_virtual_days")):
        s = summary[key]
        lines.append(f"{label:34s}" + "".join(f"{_fmt(s[f'p{p}']):>9s}" for p in PERCENTILES)
                     + f"{_fmt(s['max']):>9s}{s['count']:>7d}")
    fc = summary["first_connectivity_90_days"]
    lines.append(f"90-day first-connectivity measure: met {fc['met']}, missed {fc['missed']}")
    mem = summary.get("memory") or {}
    if mem.get("per_premises_kb") is not None:
        lines.append(f"memory: {mem['per_premises_kb']:.0f} KiB per premises in flight "
                     f"(worker peak {mem['peak_kb'] / 1024:.0f} MiB)")
    return "\n".join(lines)
