"""The DCC's handling of 8.7.x Join, 8.8.x Unjoin, 8.12.2 Restore GPF Device Log, 8.3 Decommission Device,
8.4 Update Inventory, and the MP281 install-code service: a mixin of `dcc.Dcc` (which keeps the checks, in the
order its module docstring gives, and the WAN delivery).

Rules and sources (domain.md; the code is ours):
* 8.7.x / 8.8.x: body `OtherDeviceID` only; the DCC builds the GBCS JoinDevice with the other device's type from
  the SMI (§1.7 [V]). An other device that is not in the SMI gets E19 [U: the code is the one for an unknown
  device]. The CH answers with the join / unjoin response code (hub_gpf.py), carried on the DeviceResult.
* GCS62 (0x8071, §4.3 [V]) from a GPF is kept as that GPF's backup; 8.12.2 builds GCS59 from the *old* GPF's last
  backup, as 8.12.1 does from the old CHF's CS14 (§1.5; inference). No backup held: E19 [U].
* 8.3: non-device, IS/GS; Commissioned / InstalledNotCommissioned -> Decommissioned (§3 proposed model [U]); the
  Service Flag becomes N ([MP077]); any other status: E5.
* 8.4 `UpdateMPxN{ImportMPxN}`: records a meter's MPxN in the SMI (the SEC's SMI holds "for installed Smart Meters,
  the MPAN/MPRN", §3 [V]); only the supplier registered for that MPxN may do it (E4, as §1.2). `DeleteDevice`: a
  Pending device is Withdrawn (§3 "Pending | 8.4 Update Inventory | Withdrawn (U)"); any other status: E5 [U].
* MP281 (§2.3 [MP281], status [U]): with `enable_mp281()` the SMI holds install codes; the supplier registered for
  the device's MPxN deposits one and any later registered supplier is served it (install_codes.Mp281CodeService).
  The device's MPxN comes from the SMI flows above (8.4 UpdateMPxN, 8.11 ImportMPxN), never from the bench.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.errors import DomainError
from harness.smets.duis import ResponseCode
from harness.smets.duis.bodies_join import (
    DecommissionDevice,
    JoinService,
    RestoreGpfDeviceLog,
    UnjoinService,
    UpdateInventory,
)
from harness.smets.hub import HubCommand
from harness.smets.hub_gpf import GpfAlert
from harness.smets.identities import DeviceType, Eui64, Party, Role
from harness.smets.install_codes import InstallCodeStore, Mp281CodeService, NotAuthorisedForDevice
from harness.smets.registration import ServiceFlag
from harness.smets.smi import SmiEvent, SmiStatus

if TYPE_CHECKING:
    from harness.smets.duis import Request, Response

__all__ = ["JoinServices", "SUPPLIER_ROLES_8_4"]

RC = ResponseCode
SUPPLIER_ROLES_8_4 = frozenset({"IS", "GS"})  # who may set a meter's MPxN [U]: the registered supplier
_DECOMMISSIONABLE = frozenset({SmiStatus.COMMISSIONED, SmiStatus.INSTALLED_NOT_COMMISSIONED})
_METERS = frozenset({DeviceType.ESME, DeviceType.GSME})


class JoinServices:
    """Mixed into Dcc: `_srv_<srv>` handlers found by Dcc._process, and the GCS62 backup hook."""

    # Provided by Dcc (declared for readers and type checkers).
    smi: Any
    registration: Any
    install_code_service: object | None

    # -- 8.7.x / 8.8.x ------------------------------------------------------------------------------------------
    def _srv_8_7_1(self, req: Request, sender: Party) -> Response:
        return self._join_or_unjoin(req, sender, "CS03")

    def _srv_8_7_2(self, req: Request, sender: Party) -> Response:
        return self._join_or_unjoin(req, sender, "CS03")

    def _srv_8_8_1(self, req: Request, sender: Party) -> Response:
        return self._join_or_unjoin(req, sender, "CS04")

    def _srv_8_8_2(self, req: Request, sender: Party) -> Response:
        return self._join_or_unjoin(req, sender, "CS04")

    def _join_or_unjoin(self, req: Request, sender: Party, use_case: str) -> Response:
        body = req.body
        assert isinstance(body, (JoinService, UnjoinService))
        d: Any = self
        target = d._device_target(req)
        d._require_authorised(sender, target)
        other = d._record(body.other_device_id)  # E19 if the DCC does not know it
        command = HubCommand(req.request_id, req.srv, use_case, target, device=other.eui,
                             device_type=other.device_type)
        return d._send(req, d._route(target), command)

    # -- 8.12.2 -------------------------------------------------------------------------------------------------
    def _srv_8_12_2(self, req: Request, sender: Party) -> Response:
        body = req.body
        assert isinstance(body, RestoreGpfDeviceLog)
        d: Any = self
        gpf = d._device_target(req)
        d._require_authorised(sender, gpf)
        backup = self.gpf_backups.get(body.old_gpf_id)
        if backup is None:
            raise _refuse(RC.E19, f"no GPF device log backup held for OldGPFID {body.old_gpf_id.dcc}")
        entries = tuple((eui, kind, b"") for eui, kind in backup.gpf_entries)
        command = HubCommand(req.request_id, req.srv, "GCS59", gpf, restore_entries=entries)
        return d._send(req, d._route(gpf), command)

    @property
    def gpf_backups(self) -> dict[Eui64, GpfAlert]:
        """The last GCS62 (GPF Device Log Changed) received per GPF: what 8.12.2 restores from."""
        return self.__dict__.setdefault("_gpf_backups", {})

    def _on_gpf_alert(self, alert: object) -> bool:
        """Dcc._on_device_alert calls this first: True if the alert was a GPF's GCS62 (kept, nothing else to do)."""
        if not isinstance(alert, GpfAlert):
            return False
        self.gpf_backups[alert.gpf] = alert
        return True

    # -- 8.3 / 8.4 (non-device) ---------------------------------------------------------------------------------
    def _srv_8_3(self, req: Request, sender: Party) -> Response:
        body = req.body
        assert isinstance(body, DecommissionDevice)
        d: Any = self
        record = d._record(body.device_id)
        d._require_authorised(sender, body.device_id)
        if record.status not in _DECOMMISSIONABLE:
            status = record.status.value if record.status else "no SMI status (Type 2)"
            raise _refuse(RC.E5, f"{body.device_id.dcc} is {status}; 8.3 needs Commissioned or "
                             "InstalledNotCommissioned")
        d._apply(body.device_id, SmiEvent.DECOMMISSIONED)
        d._set_flag(body.device_id, ServiceFlag.NON_ACTIVE)
        return d._answer(req, RC.I0, f"{body.device_id.dcc} Decommissioned")

    def _srv_8_4(self, req: Request, sender: Party) -> Response:
        body = req.body
        assert isinstance(body, UpdateInventory)
        d: Any = self
        record = d._record(body.device_id)
        if body.is_delete:
            if record.status is not SmiStatus.PENDING:
                raise _refuse(RC.E5, f"{body.device_id.dcc} is {record.status}; DeleteDevice needs Pending [U]")
            d._apply(body.device_id, SmiEvent.WITHDRAWN)
            return d._answer(req, RC.I0, f"{body.device_id.dcc} Withdrawn")
        if record.device_type not in _METERS:
            raise _refuse(RC.E11, f"UpdateMPxN applies to a meter; {body.device_id.dcc} is a "
                             f"{record.device_type.name}")
        point = d._mpxn(body.import_mpxn)
        now = d.clock.now()
        if point is None or sender.role.code not in SUPPLIER_ROLES_8_4 or not self.registration.is_authorised(
                sender, point, now):
            raise _refuse(RC.E4, f"{sender} is not the supplier registered for MPxN {body.import_mpxn} at "
                             f"{now.isoformat()}")
        self.smi.set_mpxn(body.device_id, point)
        self.registration.associate(body.device_id, point)
        return d._answer(req, RC.I0, f"{body.device_id.dcc} serves {body.import_mpxn}")

    # -- MP281 --------------------------------------------------------------------------------------------------
    def enable_mp281(self) -> Mp281CodeService:
        """MP281 mode: the SMI holds install codes (deposit_install_code) and serves them (request_install_code)."""
        service = self.install_code_service
        if not isinstance(service, Mp281CodeService):
            service = Mp281CodeService(InstallCodeStore(_SMI_PARTY), self.registration)
            self.install_code_service = service
        return service

    def deposit_install_code(self, party: Party, device: Eui64 | str, code: bytes) -> None:
        """MP281: the supplier registered for the device's MPxN (from the SMI) puts its install code in the SMI."""
        service = self.install_code_service
        if not isinstance(service, Mp281CodeService):
            raise DomainError("this DCC holds no install codes (MP281 mode off: call enable_mp281())")
        eui = Eui64.parse(device, where="device ID")
        d: Any = self
        if not self.registration.is_authorised_for_device(party, eui, d.clock.now()):
            raise NotAuthorisedForDevice(f"{eui.dcc}: {party} is not the supplier registered for the device's MPxN "
                                         "in the SMI (record it with 8.4 UpdateMPxN); install code not stored")
        service.hold(eui, code, f"MP281 deposit by {party.name}")


# The SMI's install-code store needs an owner: the DCC itself (a nominal Party; it sends no DUIS).
_SMI_PARTY = Party("DCC Smart Metering Inventory", Eui64.parse("90-B3-D5-1F-30-00-00-02"), Role.OU)


def _refuse(code: ResponseCode, detail: str) -> Exception:
    from harness.smets.dcc import _Refusal  # dcc.py imports this module for the mixin: keep the cycle lazy

    return _Refusal(code, detail)
