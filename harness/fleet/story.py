"""One premises of the fleet: the DP121 story (or a negative control) on its own bench, from the bench's steps.

install and leave -> change of supplier -> SM WAN restored -> MP121 hand-over -> 8.11 by the gaining supplier ->
join by install-code key -> 8.1.1 (harness/bench/steps.py; the same steps the scenario
harness/scenarios/test_dp121_change_of_supplier.py is written in). A negative control stops where it bites and
expects the refusal: `wrong_code` (the hand-over delivers a mistyped code: 8.11 succeeds, the meter never joins,
the SMI stays Whitelisted), `stranded` (the installing supplier never answers: no 8.11 can be built, the meter
stays Pending), `losing_supplier` (the losing supplier's 8.11 after the CoS date gets E4).

Whatever happens, the premises returns a record; an exception is its failure, with its cause, never the fleet's.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from pathlib import Path
from typing import Any

from harness.bench import steps
from harness.bench.bench import FRAME_LOG_MODES, Bench
from harness.bench.supplier import NoInstallCode
from harness.errors import HarnessError, JoinTimeout, LinkError
from harness.evidence.bundle import EvidenceBundle
from harness.fleet import staging
from harness.fleet.nv_template import premises_nv
from harness.fleet.params import PremisesParams
from harness.rig import InstallCodeSource, Rig
from harness.smets.duis import ResponseCode
from harness.smets.install_codes import HandoverStatus, InstallerBehaviour
from harness.smets.smi import SmiStatus

LOGGER = logging.getLogger(__name__)
LATE_ANSWER_LIMIT_DAYS = 30  # how long a gaining supplier waits for a late MP121 answer before giving up


class ControlFailed(AssertionError):
    """A negative control did not see the refusal it expects."""


def premises_rig(base: Rig, params: PremisesParams) -> Rig:
    """The base rig with this premises' own hub and ESME (its EUI-64 and install code); the story needs no other."""
    esme = dataclasses.replace(base.devices["esme"], eui64=params.esme_eui64,
                               install_code=InstallCodeSource("inline", value=params.install_code))
    hub = dataclasses.replace(base.hub, eui64=params.hub_eui64)
    return dataclasses.replace(base, hub=hub, devices={"esme": esme})


def cause_of(exc: BaseException) -> str:
    """A failure's cause for the fleet table: the step that failed, or the kind of error."""
    if isinstance(exc, steps.StepFailed | ControlFailed):
        return f"{type(exc).__name__}: {str(exc).split(':')[0]}"
    if isinstance(exc, JoinTimeout):
        return "JoinTimeout"
    if isinstance(exc, LinkError):
        return "LinkError: " + ("no answer" if "no answer" in str(exc) else str(exc).split(":")[0][:60])
    if isinstance(exc, HarnessError):
        return type(exc).__name__
    return f"{type(exc).__name__} (unexpected)"


async def story(bench: Bench, params: PremisesParams, *, no_join_window: float) -> dict[str, Any]:
    """Run the premises' story; returns its measurements. Raises on the first step that fails."""
    esme = bench.device("esme")
    installed = steps.install_and_leave(bench, esme)
    steps.change_of_supplier(bench, esme, effective_in_days=params.cos_day)
    steps.restore_wan_after(bench, max(0.0, params.wan_outage_days - params.cos_day))
    if params.control == "losing_supplier":
        response = bench.supplier_for(esme).update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
        if response.code is not ResponseCode.E4 or esme.eui64 in bench.hub.device_log:
            raise ControlFailed(f"losing supplier's 8.11 after the CoS date: got {response.code.value}, expected E4")
        return {}

    if params.control == "stranded":
        behaviour = InstallerBehaviour.never()
    elif params.handover_late_by is not None:
        behaviour = InstallerBehaviour.late(params.handover_late_by)
    else:
        behaviour = InstallerBehaviour.prompt(params.handover_working_days)
    handover = steps.mp121_handover(bench, esme, behaviour=behaviour)
    waited = 0
    while bench.gaining_supplier.store.get(esme.eui64) is None and waited < LATE_ANSWER_LIMIT_DAYS:
        bench.advance(days=1)
        waited += 1
    if params.control == "stranded":
        if handover.status is not HandoverStatus.MISSING:
            raise ControlFailed(f"stranded: hand-over status {handover.status}, expected missing")
        try:
            bench.gaining_supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
        except NoInstallCode:
            pass
        else:
            raise ControlFailed("stranded: the gaining supplier built an 8.11 without the install code")
        await bench.expect_no_join(esme, within=no_join_window)
        if bench.status(esme) is not SmiStatus.PENDING:
            raise ControlFailed(f"stranded: SMI status {bench.status(esme)}, expected Pending")
        return {}

    if params.control == "wrong_code":
        wrong = bytes(b ^ 0x5A for b in esme.install_code)  # a valid code, just not this meter's
        bench.gaining_supplier.store.put(esme.eui64, wrong, "mistyped hand-over")
        response = bench.gaining_supplier.update_han_device_log_add(esme.eui64, bench.chf, mpxn=esme.mpxn)
        steps.expect(response, ResponseCode.I0, "8.11 Add with a wrong code")
        reason = await bench.expect_no_join(esme, within=no_join_window)
        if bench.status(esme) is not SmiStatus.WHITELISTED:
            raise ControlFailed(f"wrong code: SMI status {bench.status(esme)}, expected Whitelisted")
        return {"refusal": reason}

    await steps.whitelist_and_join(bench, bench.gaining_supplier, esme)
    steps.commission(bench, bench.gaining_supplier, esme)
    join = bench.evidence.record.measurement(f"join_latency.{esme.eui64.dcc}")
    measure = bench.dcc.first_connectivity(bench.chf)
    return {
        "join_latency_s": join.value if join is not None else None,
        "commissioning_days": (bench.clock.now() - installed).total_seconds() / 86400,
        "first_connectivity_days": measure.elapsed.total_seconds() / 86400 if measure and measure.elapsed else None,
        "first_connectivity_met": measure.met if measure is not None else None,
        "handover_status": str(handover.status),
    }


# A premises' record is rewritten at most this often while it runs (and at once when it ends, if its bundle is
# kept): its ~15 changes in a second or two of wall time made as many whole-record rewrites. A worker that dies
# leaves each bundle's record as it stood up to this long before (docs/fleet.md).
RECORD_SAVE_INTERVAL = 1.0

# The fleet's --frame-log choices: Bench.start's frame_log modes but "on" (a fleet never writes logs as it goes).
FRAME_LOGS = tuple(mode for mode in FRAME_LOG_MODES if mode != "on")


async def run_premises(base: Rig, params: PremisesParams, root: Path, *, keep_if_passed: bool,
                       no_join_window: float = 2.0, reveal_secrets: bool = False,
                       nv_template: dict[str, Any] | None = None, frame_log: str = "deferred",
                       cbke_ca: Any = None, cbke: bool = True, stage: Path | None = None) -> dict[str, Any]:
    """One premises, start to end. Its evidence bundle is kept in `root` if it failed or `keep_if_passed`; with a
    `stage` (harness/fleet/staging.py) it is written there while the premises runs and moved to `root` if kept."""
    started = time.perf_counter()
    evidence = EvidenceBundle(stage or root, f"premises-{params.index:05d}", reveal_secrets=reveal_secrets,
                              coalesce_saves=RECORD_SAVE_INTERVAL)
    evidence.record.provenance["fleet_params"] = params.to_json(reveal_secrets=reveal_secrets)
    record: dict[str, Any] = {"index": params.index, "control": params.control,
                              "wan_outage_days": params.wan_outage_days, "cos_day": params.cos_day}
    bench: Bench | None = None
    failure: BaseException | None = None
    try:
        nv = premises_nv(nv_template, params) if nv_template is not None else None
        bench = await Bench.start(premises_rig(base, params), evidence, frame_log=frame_log,
                                  ncp_nv=nv, cbke_ca=cbke_ca, cbke=cbke)
        record.update(await story(bench, params, no_join_window=no_join_window))
    except Exception as exc:  # noqa: BLE001 - one premises' failure is recorded, never raised into the fleet
        failure = exc
    finally:
        if bench is not None:
            bench.keep_frame_log = failure is not None or keep_if_passed
            try:
                await bench.stop()
            except Exception as exc:  # noqa: BLE001 - a failed stop (strict mode) fails this premises
                failure = failure or exc
                # The log was closed by stop() before the check raised; it is kept only if asked for up front.
    record["outcome"] = "failed" if failure is not None else "passed"
    record["cause"] = cause_of(failure) if failure is not None else None
    record["message"] = f"{type(failure).__name__}: {failure}"[:500] if failure is not None else ""
    record["wall_s"] = time.perf_counter() - started
    evidence.record.measure("premises_wall_time", record["wall_s"], "s")
    if failure is None and not keep_if_passed and evidence.discard(record["outcome"], record["message"]):
        record["bundle"] = None
    else:  # kept, or a discard that could not delete the folder (it closed the bundle with the verdict instead)
        evidence.close(record["outcome"], record["message"])
        if stage is not None:
            try:
                staging.keep(evidence.dir, root)
            except (OSError, shutil.Error) as exc:  # still staged: the parent moves it when the workers are done
                LOGGER.warning("premises %d: bundle %s not moved yet: %s", params.index, evidence.dir.name, exc)
        record["bundle"] = evidence.dir.name
    return record
