"""Where a process's CPU time goes, by layer of the fleet's path: a statistical profiler on CPU time.

`LayerSampler` arms ITIMER_PROF (it counts the process's CPU time, user and system, not wall time, so waiting
costs nothing) and on each tick classifies the running Python stack: walking from the innermost frame outwards,
the first frame that belongs to a layer names it. zigpy's *types* (used by our NCP codec and emulated devices as
much as by bellows) and the standard library are skipped, so their time goes to whoever called them. The host
libraries (bellows, zigpy, serialx) are the part the harness cannot change: the fleet must run them unmodified.

Used by harness/bench/perf_fleet.py (`--layers`) to state the throughput floor those libraries set.
"""

from __future__ import annotations

import collections
import signal
import sys
from types import FrameType

HOST = "host: bellows, zigpy (unmodified)"
NCP = "emulated NCP: ASH, EZSP codec, handlers"
RADIO = "emulated radio, stack and devices"
CBKE = "CBKE (both sides, curve and frames)"
DOMAIN = "SMETS2 domain: SRVs, DUIS signing, DCC"
EVIDENCE = "evidence: record, timeline, capture, alerts"
FRAME_LOG = "frame log (Python logging)"
BENCH = "bench, fleet, drivers"
LOOP = "event loop and other"

LAYERS = (HOST, NCP, RADIO, CBKE, DOMAIN, EVIDENCE, FRAME_LOG, BENCH, LOOP)

# (path fragment, layer): the first that a frame's file contains decides; order matters (specific first).
_RULES: tuple[tuple[str, str], ...] = (
    ("/logging/__init__.py", FRAME_LOG),
    ("/harness/bench/frame_log.py", FRAME_LOG),
    ("/harness/zigbee/cbke/", CBKE),
    ("/harness/zigbee/key_establishment.py", CBKE),
    ("/harness/drivers/cbke_server.py", CBKE),
    ("/harness/emulation/ncp/cbke.py", CBKE),
    ("/harness/emulation/devices/key_establishment_client.py", CBKE),
    ("/harness/emulation/hub_cbke.py", CBKE),
    ("/harness/emulation/ncp/", NCP),
    ("/harness/emulation/", RADIO),
    ("/harness/zigbee/", RADIO),
    ("/harness/smets/", DOMAIN),
    ("/harness/coverage_file.py", DOMAIN),
    ("/harness/evidence/", EVIDENCE),
    ("/harness/bench/duis_evidence.py", EVIDENCE),
    ("/harness/", BENCH),
    ("/bellows/", HOST),
    ("/serialx/", HOST),
)
_SKIPPED = ("/zigpy/types/",)  # shared value types: charged to their caller


def layer_of(filenames: list[str]) -> str:
    """The layer of a stack given as file names, innermost first."""
    for name in filenames:
        name = name.replace("\\", "/")
        if any(part in name for part in _SKIPPED):
            continue
        if "/zigpy/" in name:
            return HOST
        for fragment, layer in _RULES:
            if fragment in name:
                return layer
    return LOOP


class LayerSampler:
    """Count CPU-time samples per layer while started (main thread only; one sampler at a time)."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.counts: collections.Counter[str] = collections.Counter()
        self._previous: object = None

    def _tick(self, signum: int, frame: FrameType | None) -> None:
        names = []
        while frame is not None:
            names.append(frame.f_code.co_filename)
            frame = frame.f_back
        self.counts[layer_of(names)] += 1

    def start(self) -> None:
        if sys.platform == "win32":
            raise RuntimeError("the CPU-time sampler needs ITIMER_PROF (POSIX)")
        self._previous = signal.signal(signal.SIGPROF, self._tick)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, self._previous or signal.SIG_DFL)  # type: ignore[arg-type]

    @property
    def samples(self) -> int:
        return sum(self.counts.values())

    def shares(self) -> dict[str, float]:
        """Each layer's share of the samples, in LAYERS order (layers never sampled are 0)."""
        total = self.samples or 1
        return {layer: self.counts.get(layer, 0) / total for layer in LAYERS}
