"""Scenario steps for the hub under test (topology 2): the DP121 story seen from the meter's side of the HAN.

Each step asserts what DUIS/the SEC requires at that point (response codes; the SMI and the hub's 0x8F12 where the
DCC is emulated) and narrates itself on the timeline, like harness/bench/steps.py does for topology 1.
"""

from __future__ import annotations

from datetime import timedelta

from harness.bench.bench import GAINING
from harness.bench.hub_dut import DutSupplier, HubDutBench, StickMeter
from harness.bench.steps import COMMISSION_CV, StepFailed
from harness.drivers.meter_stick import StickJoin
from harness.drivers.wan import DuisReply
from harness.smets.duis import ChfInstallSuccessNoSmWan, ChfInstallSuccessSmWan, CommissionDevice, UpdateHanDeviceLog
from harness.smets.hub import ALERT_CHF_DEVICE_LOG_CHANGED
from harness.smets.install_codes import Mp121Handover
from harness.smets.smi import SmiStatus
from harness.smets.workdays import add_working_days

__all__ = [
    "note", "expect", "install_with_wan", "install_and_leave", "add_to_device_log", "remove_from_device_log",
    "whitelist_and_join", "commission", "change_of_supplier", "mp121_handover",
]  # fmt: skip


def note(bench: HubDutBench, text: str, **fields: object) -> None:
    bench.evidence.timeline.record("step", text=text, **fields)


def expect(reply: DuisReply, codes: str | tuple[str, ...], step: str) -> DuisReply:
    wanted = (codes,) if isinstance(codes, str) else codes
    if reply.code not in wanted:
        raise StepFailed(f"{step}: expected {' or '.join(wanted)}, got {reply.code}")
    return reply


def _smi(bench: HubDutBench, device: StickMeter, expected: SmiStatus, step: str) -> None:
    if bench.dcc is not None and bench.status(device) is not expected:
        raise StepFailed(f"{step}: SMI status is {bench.status(device)}, expected {expected}")


async def install_with_wan(bench: HubDutBench, device: StickMeter) -> None:
    note(bench, "install the Comms Hub with SM WAN (SRV 8.14.1)")
    expect(await bench.supplier_for(device).send(ChfInstallSuccessSmWan(bench.chf, device.mpxn), _dcc(bench)),
           "I0", "8.14.1")


async def install_and_leave(bench: HubDutBench, device: StickMeter) -> None:
    """No SM WAN at the premises: the WAN is cut, SRV 8.14.2; the 8.11 cannot reach the hub (E20, or I99 queued)."""
    note(bench, "install and leave: the hub's SM WAN is cut (SRV 8.14.2)")
    await bench.cut_wan()
    supplier = bench.supplier_for(device)
    expect(await supplier.send(ChfInstallSuccessNoSmWan(bench.chf, device.mpxn), _dcc(bench)), "I0", "8.14.2")


def _dcc(bench: HubDutBench) -> object:
    from harness.smets.duis import DCC_ACB_EUI
    from harness.smets.identities import Eui64

    return bench.dcc.dcc_eui if bench.dcc is not None else Eui64.parse(DCC_ACB_EUI)


async def add_to_device_log(bench: HubDutBench, supplier: DutSupplier, device: StickMeter, *,
                            codes: str | tuple[str, ...] = "I0", install_code: bytes | None = None) -> DuisReply:
    """SRV 8.11 Add with the code from the supplier's store (or `install_code`, e.g. a wrong one)."""
    code = install_code if install_code is not None else supplier.store.get(device.eui64)
    if code is None:
        raise StepFailed(f"{supplier.name} holds no install code for {device.eui64.dcc}: it cannot send 8.11 Add")
    note(bench, f"{supplier.name} sends SRV 8.11 Add for the {device.role.upper()}")
    body = UpdateHanDeviceLog.add(device.eui64, code, join_time_period=90, import_mpxn=device.mpxn)
    reply = expect(await supplier.send(body, bench.chf), codes, "8.11 Add")
    if reply.code == "I0":
        _smi(bench, device, SmiStatus.WHITELISTED, "after 8.11 Add")
    return reply


async def remove_from_device_log(bench: HubDutBench, supplier: DutSupplier, device: StickMeter) -> DuisReply:
    note(bench, f"{supplier.name} sends SRV 8.11 Remove for the {device.role.upper()}")
    return expect(await supplier.send(UpdateHanDeviceLog.remove(device.eui64), bench.chf), "I0", "8.11 Remove")


async def whitelist_and_join(bench: HubDutBench, supplier: DutSupplier, device: StickMeter) -> StickJoin:
    """8.11 Add, then the stick joins the hub's HAN with its install-code key within the join window."""
    await add_to_device_log(bench, supplier, device)
    joined = await bench.join(device)
    if bench.hub is not None:
        entry = bench.hub.device_log.get(device.eui64)
        if entry is None or not entry.joined:
            raise StepFailed("the stick joined but the CHF Device Log has no hashed TC link key for it")
        if bench.hub_cbke is not None:  # CBKE ran: the CHF must hold the key it established, not the install code's
            result = bench.hub_cbke.last_result(device.eui64.to_zigpy())
            if result is None or not result.outcome.success or entry.tc_link_key != result.link_key:
                raise StepFailed("the stick joined but the CHF Device Log's TC link key is not the key CBKE "
                                 f"established ({result.outcome.reason if result else 'no CBKE exchange'})")
        alert = bench.hub.alerts[-1]
        if alert.code != ALERT_CHF_DEVICE_LOG_CHANGED or not alert.hash_of(device.eui64):
            raise StepFailed(f"after the join the hub's last alert is {alert!r}, expected 0x8F12 with the hash")
    _smi(bench, device, SmiStatus.INSTALLED_NOT_COMMISSIONED, "after the join (0x8F12 at the DCC)")
    return joined


async def commission(bench: HubDutBench, supplier: DutSupplier, device: StickMeter) -> DuisReply:
    note(bench, f"{supplier.name} commissions the {device.role.upper()} (SRV 8.1.1)")
    reply = expect(await supplier.send(CommissionDevice(), device.eui64, command_variant=COMMISSION_CV), "I0",
                   "8.1.1")
    _smi(bench, device, SmiStatus.COMMISSIONED, "after 8.1.1")
    return reply


def change_of_supplier(bench: HubDutBench, device: StickMeter, *, effective_in_days: float = 1) -> None:
    if bench.registration is None:
        note(bench, "change of supplier: done in the DCC test system's registration data (not by the harness)")
        return
    effective = bench.clock.now() + timedelta(days=effective_in_days)
    bench.registration.change_of_supplier(device.mpxn, GAINING, effective)
    note(bench, f"change of supplier to {GAINING.name}, effective {effective.isoformat()}")
    bench.clock.advance_to(max(effective, bench.clock.now()))


def mp121_handover(bench: HubDutBench, device: StickMeter) -> None:
    """MP121: the installing supplier hands the install code to the gaining supplier within 5 working days."""
    asked = bench.clock.now()
    request = Mp121Handover(bench.clock).request(bench.gaining_supplier.store, bench.installing_supplier.store,
                                                 device.eui64)
    bench.clock.advance_to(add_working_days(asked, 5))
    bench.evidence.timeline.record("mp121.handover", device=device.eui64.dcc, status=str(request.status))
    if bench.gaining_supplier.store.get(device.eui64) is None:
        raise StepFailed(f"MP121 hand-over did not give the gaining supplier the code ({request.status})")
