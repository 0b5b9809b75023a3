"""Scenario steps a lab reuses: the DP121 story is built from these, on any rig.

Each step asserts what the SEC/DUIS says must happen at that point and puts a narrated note on the timeline, so a
failing run says which step broke, in the domain's words.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from harness.bench.bench import GAINING, Bench, BenchDevice
from harness.bench.supplier import Supplier
from harness.drivers.base import JoinedDevice
from harness.smets.duis import (
    ChfInstallSuccessNoSmWan,
    ChfInstallSuccessSmWan,
    Response,
    ResponseCode,
    UpdateInventory,
)
from harness.smets.identities import DeviceType
from harness.smets.install_codes import HandoverRequest, InstallerBehaviour, Mp121Handover
from harness.smets.smi import SmiStatus
from harness.smets.workdays import add_working_days, working_days_between


class StepFailed(AssertionError):
    """A scenario step did not get the outcome the SEC/DUIS requires."""


def note(bench: Bench, text: str, **fields: object) -> None:
    bench.evidence.timeline.record("step", text=text, **fields)


def expect(response: Response, code: ResponseCode, step: str) -> Response:
    if response.code is not code:
        raise StepFailed(f"{step}: expected {code.value}, got {response.code.value} ({response.detail})")
    return response


def install_with_wan(bench: Bench, device: BenchDevice) -> datetime:
    """SRV 8.14.1: the CH is installed and has the SM WAN."""
    note(bench, "install the Comms Hub with SM WAN (SRV 8.14.1)")
    supplier = bench.supplier_for(device)
    expect(supplier.send(ChfInstallSuccessSmWan(bench.chf, device.mpxn), bench.dcc.dcc_eui), ResponseCode.I0, "8.14.1")
    return bench.clock.now()


def install_and_leave(bench: Bench, device: BenchDevice) -> datetime:
    """No SM WAN at the premises: SRV 8.14.2, and the installing supplier's 8.11 cannot reach the CH (E20)."""
    note(bench, "install and leave: no SM WAN (SRV 8.14.2)")
    bench.wan.cut()
    supplier = bench.supplier_for(device)
    expect(supplier.send(ChfInstallSuccessNoSmWan(bench.chf, device.mpxn), bench.dcc.dcc_eui), ResponseCode.I0,
           "8.14.2")
    installed = bench.clock.now()
    record_meter_mpxn(bench, device)
    expect(supplier.update_han_device_log_add(device.eui64, bench.chf, mpxn=device.mpxn), ResponseCode.E20,
           "8.11 with the WAN down")
    if device.eui64 in bench.hub.device_log:
        raise StepFailed("8.11 reached the CH although the SM WAN is down")
    return installed


def record_meter_mpxn(bench: Bench, device: BenchDevice) -> None:
    """SRV 8.4 UpdateMPxN: the installing supplier records in the SMI which MPxN the meter serves. At a no-WAN site
    8.11 (whose ImportMPxN would do it) cannot reach the CH, so this is how the SMI learns it (dcc_join.py)."""
    if device.device_type not in (DeviceType.ESME, DeviceType.GSME):
        return
    note(bench, f"record the {device.role.upper()}'s MPxN in the SMI (SRV 8.4 UpdateMPxN)")
    expect(bench.supplier_for(device).send(UpdateInventory.update_mpxn(device.eui64, device.mpxn), bench.dcc.dcc_eui),
           ResponseCode.I0, "8.4 UpdateMPxN")


def restore_wan_after(bench: Bench, days: float) -> None:
    bench.advance(days=days)
    note(bench, f"SM WAN restored after {days:g} days")
    bench.wan.restore()


def change_of_supplier(bench: Bench, device: BenchDevice, *, effective_in_days: float = 1) -> datetime:
    """The consumer moves to the gaining supplier; the CoS takes effect after `effective_in_days`."""
    effective = bench.clock.now() + timedelta(days=effective_in_days)
    bench.registration.change_of_supplier(device.mpxn, GAINING, effective)
    note(bench, f"change of supplier to {GAINING.name}, effective {effective.isoformat()}")
    bench.clock.advance_to(max(effective, bench.clock.now()))
    return effective


def mp121_handover(bench: Bench, device: BenchDevice, *,
                   behaviour: InstallerBehaviour | None = None) -> HandoverRequest:
    """MP121: the gaining supplier asks the installing supplier for the install code; answered within 5 WD."""
    handover = Mp121Handover(bench.clock)
    asked = bench.clock.now()
    request = handover.request(bench.gaining_supplier.store, bench.supplier_for(device).store, device.eui64,
                               behaviour=behaviour)
    bench.clock.advance_to(add_working_days(asked, 5))
    bench.evidence.timeline.record("mp121.handover", device=device.eui64.dcc, status=str(request.status),
                                   requested_at=asked, answered_at=request.answered_at)
    if request.answered_at is not None:
        # MP121's target is 5 Working Days (domain.md §2.3 [MP121]), counted on the bank-holiday calendar
        # (workdays.py): a 5-WD answer across Easter is 9 calendar days and still on time.
        bench.evidence.record.measure("mp121_handover_time",
                                      working_days_between(asked.date(), request.answered_at.date()),
                                      "working_days", target=handover.response_working_days)
    return request


async def whitelist_and_join(bench: Bench, supplier: Supplier, device: BenchDevice) -> JoinedDevice:
    """SRV 8.11 Add by `supplier`, then the device joins the HAN with its install-code link key."""
    note(bench, f"{supplier.name} sends SRV 8.11 Add for the {device.role.upper()}")
    expect(supplier.update_han_device_log_add(device.eui64, bench.chf, mpxn=device.mpxn), ResponseCode.I0, "8.11 Add")
    entry = bench.hub.device_log.get(device.eui64)
    if entry is None or entry.hashed_tc_link_key != b"":
        raise StepFailed("after CCS01 the CHF Device Log must hold the device with an empty hash")
    expected = None if device.device_type is DeviceType.TYPE2 else SmiStatus.WHITELISTED  # Type 2: no SMI status
    if bench.status(device) is not expected:
        raise StepFailed(f"SMI status after 8.11 Add is {bench.status(device)}, expected {expected}")
    joined = await bench.wait_for_join(device)
    entry = bench.hub.device_log.get(device.eui64)
    if entry is None or not entry.hashed_tc_link_key:
        raise StepFailed("the device joined but the CHF Device Log has no hashed TC link key for it")
    return joined


def commission(bench: Bench, supplier: Supplier, device: BenchDevice) -> Response:
    note(bench, f"{supplier.name} commissions the {device.role.upper()} (SRV 8.1.1: CV 4 Pre-Command, CV 5 signed)")
    response = expect(supplier.commission(device.eui64), ResponseCode.I0, "8.1.1")
    if bench.status(device) is not SmiStatus.COMMISSIONED:
        raise StepFailed(f"SMI status after 8.1.1 is {bench.status(device)}, expected Commissioned")
    return response
