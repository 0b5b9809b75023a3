"""The fleet's plot as a plain SVG written here (no plotting library, no browser plug-in to view it).

Left: histogram of virtual commissioning time (install to Commissioned, days) over the premises that ran the full
story. Right: premises completed against wall time, i.e. the run's throughput.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

WIDTH, HEIGHT = 960, 360
PANEL_W, PANEL_H = 400, 250
MARGIN_L, MARGIN_T = 60, 50


def _axes(x0: float, title: str, xlabel: str, ylabel: str, xmax: float, ymax: float) -> list[str]:
    y0 = MARGIN_T + PANEL_H
    out = [
        f'<text x="{x0 + PANEL_W / 2}" y="{MARGIN_T - 20}" text-anchor="middle" font-size="15">{escape(title)}</text>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0 + PANEL_W}" y2="{y0}" stroke="black"/>',
        f'<line x1="{x0}" y1="{MARGIN_T}" x2="{x0}" y2="{y0}" stroke="black"/>',
        f'<text x="{x0 + PANEL_W / 2}" y="{y0 + 38}" text-anchor="middle" font-size="12">{escape(xlabel)}</text>',
        f'<text x="{x0 - 42}" y="{MARGIN_T + PANEL_H / 2}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 {x0 - 42} {MARGIN_T + PANEL_H / 2})">{escape(ylabel)}</text>',
    ]
    for i in range(5):
        fx, fy = i / 4, i / 4
        out.append(f'<text x="{x0 + fx * PANEL_W}" y="{y0 + 16}" text-anchor="middle" font-size="10">'
                   f'{xmax * fx:.0f}</text>')
        out.append(f'<text x="{x0 - 6}" y="{y0 - fy * PANEL_H + 4}" text-anchor="end" font-size="10">'
                   f'{ymax * fy:.0f}</text>')
    return out


def render(commissioning_days: list[float], completions: list[float], *, title: str = "") -> str:
    """SVG text. `completions`: wall seconds since the start at which each premises finished."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">',
             '<rect width="100%" height="100%" fill="white"/>']
    if title:
        parts.append(f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>')
    # Histogram, 1-day bins up to the largest value (at least 100 days so the 90-day target is on the axis).
    x0 = MARGIN_L
    xmax = max([100.0, *commissioning_days])
    bins = [0] * (int(xmax) + 1)
    for value in commissioning_days:
        bins[int(value)] += 1
    ymax = max([1, *bins])
    parts += _axes(x0, "virtual commissioning time", "days from install to Commissioned", "premises", xmax, ymax)
    bar_w = PANEL_W / len(bins)
    for day, count in enumerate(bins):
        if count:
            h = count / ymax * PANEL_H
            parts.append(f'<rect x="{x0 + day * bar_w:.2f}" y="{MARGIN_T + PANEL_H - h:.2f}" '
                         f'width="{max(bar_w, 1):.2f}" height="{h:.2f}" fill="#3b6ea8"/>')
    target_x = x0 + 90 / xmax * PANEL_W
    parts.append(f'<line x1="{target_x:.2f}" y1="{MARGIN_T}" x2="{target_x:.2f}" y2="{MARGIN_T + PANEL_H}" '
                 'stroke="#c0392b" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{target_x + 4:.2f}" y="{MARGIN_T + 12}" font-size="10" fill="#c0392b">90-day target</text>')
    # Throughput: premises done against wall time.
    x1 = MARGIN_L + PANEL_W + 100
    done = sorted(completions)
    tmax = max([1.0, *done])
    parts += _axes(x1, "throughput", "wall time (s)", "premises completed", tmax, max(1, len(done)))
    if done:
        points = " ".join(f"{x1 + t / tmax * PANEL_W:.2f},{MARGIN_T + PANEL_H - (i + 1) / len(done) * PANEL_H:.2f}"
                          for i, t in enumerate(done))
        parts.append(f'<polyline points="{x1:.2f},{MARGIN_T + PANEL_H} {points}" fill="none" stroke="#27ae60" '
                     'stroke-width="2"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write(path: Path, commissioning_days: list[float], completions: list[float], *, title: str = "") -> Path:
    path.write_text(render(commissioning_days, completions, title=title), encoding="utf-8")
    return path
