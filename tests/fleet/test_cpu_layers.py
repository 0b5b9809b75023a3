"""The CPU-by-layer profile that perf_fleet prints (harness/bench/cpu_layers.py): stacks land in the right layer,
the sampler counts CPU time, and a short fleet run is profiled end to end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.bench import cpu_layers as L
from harness.bench.perf_fleet import layer_profile
from tests.fleet.test_fleet import EMULATED_RIG

SITE = "/venv/lib/python3.11/site-packages"
HARNESS = "/src/harness"


@pytest.mark.parametrize("stack, layer", [
    # zigpy's value types are charged to whoever called them: our NCP codec, or bellows
    ([f"{SITE}/zigpy/types/basic.py", f"{HARNESS}/emulation/ncp/codec.py", f"{SITE}/bellows/ash.py"], L.NCP),
    ([f"{SITE}/zigpy/types/struct.py", f"{SITE}/bellows/ezsp/protocol.py", f"{HARNESS}/fleet/story.py"], L.HOST),
    ([f"{SITE}/zigpy/application.py", f"{HARNESS}/bench/steps.py"], L.HOST),
    (["/usr/lib/python3.11/logging/__init__.py", f"{SITE}/bellows/ezsp/protocol.py"], L.FRAME_LOG),
    ([f"{HARNESS}/zigbee/cbke/libcrypto.py", f"{HARNESS}/emulation/ncp/cbke.py"], L.CBKE),
    ([f"{HARNESS}/emulation/ncp/cbke.py", f"{HARNESS}/emulation/ncp/ncp.py"], L.CBKE),
    ([f"{HARNESS}/zigbee/nwk.py", f"{HARNESS}/emulation/node.py"], L.RADIO),
    ([f"{HARNESS}/smets/duis/signing.py", f"{HARNESS}/bench/supplier.py"], L.DOMAIN),
    ([f"{HARNESS}/evidence/record.py", f"{HARNESS}/fleet/story.py"], L.EVIDENCE),
    ([f"{HARNESS}/bench/frame_log.py"], L.FRAME_LOG),
    ([f"{HARNESS}/fleet/worker.py"], L.BENCH),
    (["/usr/lib/python3.11/asyncio/events.py"], L.LOOP),
    ([], L.LOOP),
])
def test_a_stack_belongs_to_the_layer_of_its_innermost_owned_frame(stack, layer):
    assert L.layer_of(stack) == layer


def test_the_sampler_counts_cpu_time_where_it_is_spent():
    # A busy loop whose code claims to live in the domain layer: nearly every CPU-time sample must land there.
    namespace: dict = {}
    exec(compile("def spin(until):\n    import time\n    while time.process_time() < until:\n        pass\n",
                 f"{HARNESS}/smets/spin.py", "exec"), namespace)
    sampler = L.LayerSampler(interval=0.002)
    sampler.start()
    try:
        namespace["spin"](time.process_time() + 0.3)
        time.sleep(0.2)  # waiting is not CPU time: no samples
    finally:
        sampler.stop()
    assert sampler.samples >= 20
    assert sampler.shares()[L.DOMAIN] > 0.8
    assert abs(sum(sampler.shares().values()) - 1.0) < 1e-9


def test_a_short_fleet_run_is_profiled_by_layer(tmp_path: Path, monkeypatch):
    import logging

    # layer_profile sets the worker's logging switches (quiet_logging): restore them for the rest of this process
    for switch in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, switch, getattr(logging, switch))
    monkeypatch.setattr(logging.getLogger("asyncio"), "level", logging.getLogger("asyncio").level)
    from harness.bench import frame_log

    monkeypatch.setattr(frame_log, "capture_directly", lambda: None)  # a worker process's switch, not this one's
    from harness.fleet import worker

    monkeypatch.setattr(worker, "tune_gc", lambda: None)  # a worker process's collector settings, not this one's
    cpu_ms, shares, failed = layer_profile(str(EMULATED_RIG), 3, tmp_path)
    assert failed == 0 and cpu_ms > 0
    assert list(shares) == list(L.LAYERS) and abs(sum(shares.values()) - 1.0) < 1e-9
    for layer in (L.HOST, L.NCP, L.RADIO, L.CBKE, L.DOMAIN):  # every part of the path ran and was seen
        assert shares[layer] > 0, layer
