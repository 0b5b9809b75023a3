"""The emulated DCC: takes DUIS requests from Users, checks them, runs non-device services against the SMI and
sends device services to the Communications Hub over the SM WAN.

Checks, in this order (codes and meanings domain.md §1.12 [RC] [S]):
  1. schema (duis.request; a malformed request raises DuisSchemaError: the DCC's real refusal is [U]);
  2. E1  the sender's User ID is not the RequestID originator;
  3. anti-replay: the counter must beat every earlier one from that originator (ReplayRefused; code [U]);
  4. E2  role not permitted for the SRV (domain.md §1.1, [DP] request matrix [V]);
  5. E12 Command Variant not valid for the SRV (domain.md §1.1, [DT] [V]; table `command_variants`);
  6. E11 a non-device SRV not addressed to the DCC;
  7. E19 device not in the SMI;  E11 device type not one the SRV applies to (catalogue.target_types);
  8. E4  sender not the supplier registered for the device at the request time (domain.md §1.2, §2.3 [U: inferred]):
         for a device with an MPxN of its own, only that MPxN's supplier (an 8.11 body's ImportMPxN names the
         device's meter point; it cannot authorise a supplier for someone else's meter);
  9. E5  the device's SMI status is not one the SRV accepts (table `smi_status_rules`, [U], defaults below).

Answers (DCC Boxed behaviour, SmartDCCInnovation dccboxed-nodered-nodes; dcc_outbox.py): a refusal above is the
synchronous answer. A non-device SRV (CV 8) is answered synchronously with its result. A device SRV that passed is
acknowledged synchronously with I99, and the device's response (I0, or E20 when the CH cannot be reached) is
delivered later to the sender's outbox (`dcc.outbox`). CV 4 is the transform: the answer is I0 with a Pre-Command
for the User to sign, and nothing reaches the device; CV 5 sends it back, signed, under the same RequestID, and
only then is the command sent. A body with an ExecutionDateTime in the future waits on the virtual clock until then;
one dated 3000-12-31 (CANCELLATION_DATE_TIME, the RTDS cancellation templates) cancels the sender's waiting request
of the same SRV for the same device. SM WAN down: policy "E20" gives the E20 response, policy "queue" holds the
command in a per-CH FIFO and sends it, in order, when the WAN is restored (nothing is dropped).

Effects (domain.md §3 proposed SMI model [U]): 8.11 Add success -> Whitelisted (a duplicate Add leaves the N24
timer of the first one running); the CS14 (0x8F12) showing the device's hash -> InstalledNotCommissioned; 8.11
Remove -> Pending; 8.1.1 success -> Commissioned. 8.14.1/8.14.2 set the CH First Time Installed Date (§1.9 [V]) and
make the CHF and GPF InstalledNotCommissioned; the CHF is Commissioned once it has the SM WAN (smi.CH_TRANSITIONS);
the 90-day first-connectivity measure runs from the install date (connectivity.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from harness.errors import DomainError, InputError, SrvRejected
from harness.smets.alerts import N24, N24Trigger
from harness.smets.clock import Clock
from harness.smets.connectivity import FIRST_CONNECTIVITY_TARGET, ChState, ConnectivityMeasure, WanHistory
from harness.smets.dcc_join import JoinServices
from harness.smets.device_log import DEFAULT_JOIN_TIME_UNIT
from harness.smets.dcc_outbox import UserOutbox
from harness.smets.duis import (
    CANCELLATION_DATE_TIME,
    CATALOGUE,
    DCC_ACB_EUI,
    AntiReplay,
    ChfFaultReturn,
    ChfInstallSuccessNoSmWan,
    ChfInstallSuccessSmWan,
    ChfNoFaultReturn,
    DccAlert,
    DccSignatures,
    DuisSigner,
    DeviceLogRead,
    DevicePrenotification,
    DeviceResult,
    DspInventory,
    DspWanMatrix,
    InventoryDevice,
    NoPremisesFound,
    PreCommand,
    ReadDeviceLog,
    ReadInventory,
    ReplayRefused,
    Request,
    RequestId,
    RequestWanMatrix,
    Response,
    ResponseCode,
    RestoreHanDeviceLog,
    SignedPreCommand,
    UpdateHanDeviceLog,
)
from harness.smets.duis.request import read_request
from harness.smets.hub import ChfAlert, CommsHub, HubCommand, LogChangeKind
from harness.smets.identities import DeviceType, Eui64, Mpan, Mprn, Party, parse_mpxn
from harness.smets.registration import Registration, ServiceFlag
from harness.smets.smi import SmartMeteringInventory, SmiEvent, SmiRecord, SmiStatus, UnknownDevice
from harness.smets.wan import EmulatedWan, WanDown, WanLink

__all__ = ["Dcc", "DEFAULT_SMI_STATUS_RULES", "WAN_DOWN_POLICIES", "SUPPLIER_ROLES", "DUIS_DEVICE_TYPES",
           "PreCommandRefused", "PRE_COMMAND_GBCS_VERSION"]

# The emulated DCC builds no GBCS: a Pre-Command's payload is its own opaque token, and this GBCSVersion says so.
PRE_COMMAND_GBCS_VERSION = "harness-opaque"

RC = ResponseCode
_S = SmiStatus

# [U] (domain.md §1.2 "SMI status rules not found", §10 scenario 12): the SMI statuses each SRV accepts for its
# subject device (8.11: the body DeviceID; others: the RequestID target). SRVs not listed are not status-checked.
# Type 2 devices have no SMI status and pass.
DEFAULT_SMI_STATUS_RULES: Mapping[str, frozenset[SmiStatus]] = MappingProxyType({
    "8.11": frozenset({_S.PENDING, _S.WHITELISTED, _S.INSTALLED_NOT_COMMISSIONED, _S.COMMISSIONED}),
    "8.1.1": frozenset({_S.INSTALLED_NOT_COMMISSIONED}),
    "6.21": frozenset({_S.INSTALLED_NOT_COMMISSIONED, _S.COMMISSIONED}),
    "6.23": frozenset({_S.INSTALLED_NOT_COMMISSIONED, _S.COMMISSIONED}),
})

WAN_DOWN_POLICIES = ("E20", "queue")
# Registration-based access control (E4) applies to supplier roles; what the DCC checks for ED/GT/RSA/OU is [U].
SUPPLIER_ROLES = frozenset({"IS", "GS", "ES"})

# DUIS DeviceType spellings ([DT] 12.2 "ESME", [DP] 8.2 "CHF"/"GPF"); Type 2 names [U].
DUIS_DEVICE_TYPES: Mapping[str, DeviceType] = MappingProxyType({
    "GSME": DeviceType.GSME, "ESME": DeviceType.ESME, "CHF": DeviceType.CHF, "GPF": DeviceType.GPF,
    "HCALCS": DeviceType.HCALCS, "PPMID": DeviceType.PPMID, "IHD": DeviceType.TYPE2, "CAD": DeviceType.TYPE2,
    "Type2": DeviceType.TYPE2,
})
_DUIS_NAME = {DeviceType.TYPE2: "IHD", **{t: n for n, t in DUIS_DEVICE_TYPES.items() if t is not DeviceType.TYPE2}}


class PreCommandRefused(SrvRejected):
    """A signed pre-command (CV 5/6/7) that answers no Pre-Command this DCC issued under that RequestID, or that
    carries a different payload. The DUIS response code for this refusal was not found [U]: none is invented."""


class _Refusal(Exception):
    def __init__(self, code: ResponseCode, detail: str) -> None:
        self.code = code
        self.detail = detail


@dataclass
class _Queued:
    request: Request
    command: HubCommand
    sent_at: datetime
    on_result: Callable[[DeviceResult | DeviceLogRead], None]


@dataclass
class _Scheduled:
    """A future-dated device request waiting on the virtual clock for its ExecutionDateTime."""

    item: _Queued
    chf: Eui64
    subject: Eui64  # the device the request is about (8.11: the body's DeviceID; otherwise the target)
    due: datetime
    timer: object | None = None


class Dcc(JoinServices):
    """The DCC, its Smart Metering Inventory and its view of each CH (see the module docstring for the rules).

    Options ([U] facts, each with its default and source in docs/duis-and-dcc.md):
    `wan_down_policy` "E20" | "queue"; `smi_status_rules` (DEFAULT_SMI_STATUS_RULES); `command_variants` (per SRV,
    default: the catalogue's RTDS ones); `n24_trigger` (BOTH); `join_time_unit` (1 minute, for the N24 expiry
    timer); `first_connectivity_target` (90 days); `ou_8_11_type2_only` (True: an Other User may add/remove only
    Type 2 devices, else E4); `dcc_eui` (the RTDS ACB EUI, the target of non-device SRVs); `response_delay` (0: how
    long after the device answered its response reaches the User's outbox, [U]).

    `submit` returns the synchronous answer: a refusal, a non-device SRV's result, a CV 4 Pre-Command, or I99 for a
    device SRV, whose response is delivered later to `outbox` (the sender collects it with `outbox.collect(user_id)`).
    """

    def __init__(
        self,
        clock: Clock,
        smi: SmartMeteringInventory,
        registration: Registration,
        hubs: CommsHub | Iterable[CommsHub] = (),
        wan: WanLink | None = None,
        *,
        wan_down_policy: str = "E20",
        coverage: object | None = None,
        install_code_service: object | None = None,
        dcc_eui: Eui64 | str = DCC_ACB_EUI,
        smi_status_rules: Mapping[str, frozenset[SmiStatus]] = DEFAULT_SMI_STATUS_RULES,
        command_variants: Mapping[str, frozenset[int]] | None = None,
        n24_trigger: N24Trigger = N24Trigger.BOTH,
        join_time_unit: timedelta = DEFAULT_JOIN_TIME_UNIT,
        first_connectivity_target: timedelta = FIRST_CONNECTIVITY_TARGET,
        ou_8_11_type2_only: bool = True,
        response_delay: timedelta = timedelta(0),
        signatures: DccSignatures | None = None,
    ) -> None:
        if wan_down_policy not in WAN_DOWN_POLICIES:
            raise InputError(f"{wan_down_policy!r} is not one of {', '.join(WAN_DOWN_POLICIES)}",
                             where="wan_down_policy")
        self._clock = clock
        self.smi = smi
        self.registration = registration
        self.wan: WanLink = wan if wan is not None else EmulatedWan(clock)
        self.wan_down_policy = wan_down_policy
        self.coverage = coverage
        self.install_code_service = install_code_service
        self.dcc_eui = Eui64.parse(dcc_eui, where="dcc_eui")
        self.smi_status_rules = MappingProxyType(dict(smi_status_rules))
        cvs = {srv: spec.command_variants for srv, spec in CATALOGUE.items()}
        cvs.update(command_variants or {})
        self.command_variants = MappingProxyType(cvs)
        self.n24_trigger = N24Trigger(n24_trigger)
        self.join_time_unit = join_time_unit
        self.first_connectivity_target = first_connectivity_target
        self.ou_8_11_type2_only = ou_8_11_type2_only
        if response_delay < timedelta(0):
            raise InputError(f"{response_delay} is negative", where="response_delay")
        if response_delay and not hasattr(clock, "call_later"):
            raise InputError("a response delay needs a clock that schedules (VirtualClock)", where="response_delay")
        self.response_delay = response_delay
        self.signatures = signatures  # None: requests' signatures are not verified (docs: "Signing")

        self.anti_replay = AntiReplay()
        self.responses: list[Response] = []
        self.refused: list[tuple[datetime, str]] = []  # replays: (time, reason)
        self.dcc_alerts: list[DccAlert] = []
        self.device_alerts: list[ChfAlert] = []
        self.alert_observers: list[Callable[[DccAlert], None]] = []
        self.outbox = UserOutbox(clock)  # asynchronous responses, per User (dcc_outbox.py)
        self.cancelled: list[Request] = []  # future-dated requests cancelled before they ran
        self._transforms: dict[RequestId, tuple[Request, bytes]] = {}  # CV 4 answered, CV 5 not yet received
        self._scheduled: list[_Scheduled] = []
        self._signed_execution: dict[RequestId, datetime | None] = {}  # a SignedPreCommand's ExecutionDateTime
        self.device_alert_observers: list[Callable[[object], None]] = []  # each CS14 / GCS62 as the DCC gets it
        self._queues: dict[Eui64, deque[_Queued]] = {}
        self._backups: dict[Eui64, ChfAlert] = {}  # last CS14 per CHF: the 8.12.1 backup
        self._installed_at: dict[Eui64, datetime] = {}
        self._ch_state: dict[Eui64, ChState] = {}
        self._wan_history: dict[Eui64, WanHistory] = {}
        self._pending_n24: dict[Eui64, tuple[RequestId, object | None]] = {}
        self._manufacturers: dict[Eui64, str] = {}  # DeviceManufacturer from 12.2, for the 8.2 Device

        self.wan.add_state_listener(self._on_wan_state)
        self.wan.add_alert_listener(self._on_device_alert)
        for hub in [hubs] if isinstance(hubs, CommsHub) else list(hubs):
            if hub.chf in self.wan.hubs():
                continue
            if not isinstance(self.wan, EmulatedWan):
                raise InputError(f"CH {hub.chf.dcc} is not reachable over the given WAN link; attach it there",
                                 where="hubs")
            self.wan.attach(hub)  # a hub handed over without a WAN: its link is up
        for chf in self.wan.hubs():
            if self.wan.is_up(chf):
                self._wan(chf).up(clock.now())

    @property
    def clock(self) -> Clock:
        """The DCC's (virtual) clock: senders read it for time-stamped bodies such as 8.1.1 CurrentDateTime."""
        return self._clock

    @property
    def signer(self) -> DuisSigner | None:
        """The DCC's own signing credential: its answers and alerts carry its signature. None: unsigned."""
        return self.signatures.signer if self.signatures is not None else None

    # == entry point =============================================================================================
    def submit(self, request: Request | str | bytes, sender: Party) -> Response:
        """Answer one DUIS request from `sender`; every answer is also kept in `responses`."""
        xml = request.to_xml() if isinstance(request, Request) else request
        req, coded = read_request(xml, dcc_eui=self.dcc_eui)
        if self.signatures is not None:  # XML-DSig first: an unauthenticated request goes no further
            refused = self.signatures.refusal(xml, req.request_id.originator)
            if refused is not None:
                return self._answer(req, self.signatures.failure_code, refused)
        try:
            return self._process(req, sender, coded)
        except _Refusal as refusal:
            return self._answer(req, refusal.code, refusal.detail)

    def _process(self, req: Request, sender: Party, coded: list) -> Response:
        rid, spec = req.request_id, req.spec
        if sender.user_id != rid.originator:
            raise _Refusal(RC.E1, f"sender {sender} is not the RequestID originator {rid.originator.dcc}")
        if isinstance(req.body, SignedPreCommand):
            # CV 5/6/7 reuses the RequestID of the CV 4 request it answers ([DP] dccboxed-send, preserveCounter):
            # it passed anti-replay then, and now stands for that request.
            req = self._signed(req)
        else:
            try:
                self.anti_replay.accept(rid)
            except ReplayRefused as exc:
                self.refused.append((self._clock.now(), str(exc)))
                raise
        if sender.role.code not in spec.roles:
            raise _Refusal(RC.E2, f"role {sender.role.code} may not send {spec} (allowed: "
                           f"{', '.join(sorted(spec.roles))})")
        if req.command_variant not in self.command_variants[req.srv]:
            allowed = ", ".join(str(v) for v in sorted(self.command_variants[req.srv]))
            raise _Refusal(RC.E12, f"CommandVariant {req.command_variant} not valid for {req.srv} (allowed: {allowed})")
        if spec.non_device and rid.target != self.dcc_eui:
            raise _Refusal(RC.E11, f"non-device SRV {req.srv} must be addressed to the DCC {self.dcc_eui.dcc}")
        handler = getattr(self, "_srv_" + req.srv.replace(".", "_"))
        try:
            return handler(req, sender)
        finally:
            self._signed_execution.pop(rid, None)  # used by _send, or the request was refused

    def _signed(self, req: Request) -> Request:
        assert isinstance(req.body, SignedPreCommand)
        issued = self._transforms.get(req.request_id)
        why = None
        if issued is None:
            why = "no Pre-Command was issued under this RequestID (or it was already used)"
        elif issued[0].srv != req.srv:
            why = f"the Pre-Command was issued for {issued[0].srv}, not {req.srv}"
        elif issued[1] != req.body.gbcs_payload:
            why = "its GBCSPayload is not the Pre-Command issued"
        if why is not None or issued is None:
            message = f"signed pre-command {req.request_id} refused: {why}"
            self.refused.append((self._clock.now(), message))
            raise PreCommandRefused(message)
        del self._transforms[req.request_id]
        original = issued[0]
        self._signed_execution[req.request_id] = req.body.execution_date_time
        return Request(original.request_id, req.command_variant, original.srv, original.body, original.schema_version)

    # == non-device services (CV 8) ==============================================================================
    def _srv_8_14_1(self, req: Request, sender: Party) -> Response:
        return self._ch_installed(req, sender, ChState.INSTALLED_WAN)

    def _srv_8_14_2(self, req: Request, sender: Party) -> Response:
        return self._ch_installed(req, sender, ChState.INSTALLED_NO_WAN)

    def _ch_installed(self, req: Request, sender: Party, state: ChState) -> Response:
        body = req.body
        assert isinstance(body, (ChfInstallSuccessSmWan, ChfInstallSuccessNoSmWan))
        chf = body.device_id
        self._require_type(chf, {DeviceType.CHF}, req.srv)
        mpxn = self._mpxn(body.mpxn)
        if mpxn is None or not self.registration.is_authorised(sender, mpxn, self._clock.now()):
            raise _Refusal(RC.E4, f"{sender} is not the supplier registered for MPxN {body.mpxn} at "
                           f"{self._clock.now().isoformat()}")
        self.registration.associate(chf, mpxn)
        # CH First Time Installed Date: the date the DCC first receives 8.14.1 or 8.14.2 ([PM] p.26).
        self._installed_at.setdefault(chf, self._clock.now())
        self._ch_state[chf] = state
        for device in self._ch_devices(chf):  # the CHF and its GPF are installed (smi.CH_TRANSITIONS [U])
            self._apply(device, SmiEvent.CH_INSTALLED)
        self._commission_chf_if_connected(chf)
        return self._answer(req, RC.I0, f"CH {chf.dcc}: {state.value}")

    def _ch_devices(self, chf: Eui64) -> list[Eui64]:
        """The CHF and the GPF(s) the SMI associates with it."""
        gpfs = [r.eui for r in self.smi.devices() if r.device_type is DeviceType.GPF and r.chf == chf]
        return [chf, *gpfs]

    def _commission_chf_if_connected(self, chf: Eui64) -> None:
        """A CHF installed (8.14.x) and on the SM WAN is Commissioned (a CH is Commissioned when its CHF is, [SECG];
        installed without WAN it stays non-commissioned, DP121). [U] model: smi.CH_TRANSITIONS."""
        if chf in self._installed_at and chf in self.wan.hubs() and self.wan.is_up(chf):
            self._apply(chf, SmiEvent.COMMISSIONED)

    def _srv_8_14_3(self, req: Request, sender: Party) -> Response:
        assert isinstance(req.body, ChfFaultReturn)
        self._require_type(req.body.device_id, {DeviceType.CHF}, req.srv)
        self._ch_state[req.body.device_id] = ChState.FAULT_RETURN
        return self._answer(req, RC.I0, ChState.FAULT_RETURN.value)

    def _srv_8_14_4(self, req: Request, sender: Party) -> Response:
        assert isinstance(req.body, ChfNoFaultReturn)
        self._require_type(req.body.device_id, {DeviceType.CHF}, req.srv)
        self._ch_state[req.body.device_id] = ChState.NO_FAULT_RETURN
        return self._answer(req, RC.I0, ChState.NO_FAULT_RETURN.value)

    def _srv_8_2(self, req: Request, sender: Party) -> Response:
        assert isinstance(req.body, ReadInventory)
        rec = self._record(req.body.device_id)
        device = InventoryDevice(rec.eui, _DUIS_NAME[rec.device_type], rec.status.value if rec.status else None,
                                 rec.model, str(rec.mpxn) if rec.mpxn is not None else None,
                                 self._manufacturers.get(rec.eui, ""))
        return self._answer(req, RC.I0, "", DspInventory((device,)))

    def _srv_12_1(self, req: Request, sender: Party) -> Response:
        body = req.body
        assert isinstance(body, RequestWanMatrix)
        if self.coverage is None:
            raise DomainError("SR 12.1: this DCC has no SM WAN coverage database (pass coverage=...)")
        result = self.coverage.wan_matrix(  # type: ignore[attr-defined]
            postcode=body.post_code, address_identifier=body.address_identifier, uprn=body.uprn)
        echo = {k: v for k, v in (("UPRN", body.uprn), ("PostCode", body.post_code),
                                  ("AddressIdentifier", body.address_identifier)) if v is not None}
        if hasattr(result, "coverage_availability"):
            payload: DspWanMatrix | NoPremisesFound = DspWanMatrix(
                str(result.csp_region), bool(result.coverage_availability), str(result.wan_technology),
                str(result.connectivity_likelihood))
        else:
            payload = NoPremisesFound(str(getattr(result, "reason", "No premises found")))
        response = self._answer(req, RC.I0, "", payload)
        response.request_elems.update(echo)
        return response

    def _srv_12_2(self, req: Request, sender: Party) -> Response:
        body = req.body
        assert isinstance(body, DevicePrenotification)
        kind = DUIS_DEVICE_TYPES.get(body.device_type)
        if kind is None:
            raise _Refusal(RC.E11, f"DeviceType {body.device_type!r} is not one of {', '.join(DUIS_DEVICE_TYPES)}")
        self._manufacturers.setdefault(body.device_id, body.device_manufacturer)
        if body.device_id in self.smi:
            return self._answer(req, RC.I0, f"{body.device_id.dcc} already in the SMI")
        self.smi.add_device(body.device_id, kind, model=body.device_model)
        return self._answer(req, RC.I0, f"{body.device_id.dcc} added to the SMI as Pending")

    # == device services (sent to the CH) ========================================================================
    def _srv_8_11(self, req: Request, sender: Party) -> Response:
        body = req.body
        assert isinstance(body, UpdateHanDeviceLog)
        chf = self._device_target(req)
        device = self._record(body.device_id)
        if device.device_type in (DeviceType.CHF, DeviceType.GPF):
            # The GPF's entry is made by the Join Service, never by 8.11 (§1.2 [V]); a CHF is not a HAN joiner.
            raise _Refusal(RC.E11, f"{body.device_id.dcc} is a {device.device_type.name}: not added by 8.11")
        if sender.role.code == "OU" and self.ou_8_11_type2_only and device.device_type is not DeviceType.TYPE2:
            raise _Refusal(RC.E4, "an Other User may update the HAN device log only for Type 2 devices [U]")
        self._require_authorised(sender, body.device_id, mpxn_text=body.import_mpxn, via=chf)
        self._require_status(req.srv, body.device_id)
        # Already whitelisted on this CHF: the CHF discards a duplicate Add's key and keeps the entry (§1.4 [V]), so
        # the join window of the first Add, and the DCC's N24 timer for it, run on unchanged.
        duplicate = body.is_add and device.chf == chf and device.status in (
            SmiStatus.WHITELISTED, SmiStatus.INSTALLED_NOT_COMMISSIONED)
        if body.is_add:
            command = HubCommand(req.request_id, req.srv, "CCS01", chf, body.device_id, device.device_type,
                                 body.install_code, body.join_time_period)
        else:
            command = HubCommand(req.request_id, req.srv, "CCS02", chf, body.device_id)

        def effects(result: DeviceResult | DeviceLogRead) -> None:
            if not isinstance(result, DeviceResult) or not result.success:
                return
            if body.is_add:
                self.smi.set_chf(body.device_id, chf)
                if body.import_mpxn and (point := self._mpxn(body.import_mpxn)) is not None:
                    self.registration.associate(body.device_id, point)
                self._apply(body.device_id, SmiEvent.WHITELISTED)
                if not duplicate:
                    self._arm_n24(req.request_id, body.device_id, body.join_time_period or 0)
            else:
                self._apply(body.device_id, SmiEvent.REMOVED)
                self._disarm_n24(body.device_id)

        return self._send(req, chf, command, effects)

    def _srv_8_1_1(self, req: Request, sender: Party) -> Response:
        target = self._device_target(req)
        self._require_authorised(sender, target)
        self._require_status(req.srv, target)

        def effects(result: DeviceResult | DeviceLogRead) -> None:
            if isinstance(result, DeviceResult) and result.success:
                self._apply(target, SmiEvent.COMMISSIONED)
                self._set_flag(target, ServiceFlag.ACTIVE)

        return self._send(req, self._route(target), HubCommand(req.request_id, req.srv, "8.1.1", target), effects)

    def _srv_8_9(self, req: Request, sender: Party) -> Response:
        assert isinstance(req.body, ReadDeviceLog)
        target = self._device_target(req)
        self._require_authorised(sender, target)
        kind = self._record(target).device_type
        use_case = ("CCS07" if req.body.read_security_details else "CCS06") if kind is DeviceType.CHF else "CS07"
        return self._send(req, self._route(target), HubCommand(req.request_id, req.srv, use_case, target))

    def _srv_8_12_1(self, req: Request, sender: Party) -> Response:
        assert isinstance(req.body, RestoreHanDeviceLog)
        chf = self._device_target(req)
        self._require_authorised(sender, chf)
        old = req.body.old_chf_id
        backup = self._backups.get(old)
        if backup is None:
            raise _Refusal(RC.E19, f"no CHF device log backup held for OldCHFID {old.dcc}")
        entries = tuple((eui, self.smi.record(eui).device_type if eui in self.smi else DeviceType.TYPE2, hashed)
                        for eui, hashed in backup.entries if hashed)
        command = HubCommand(req.request_id, req.srv, "CCS03", chf, restore_entries=entries,
                             restore_extended_pan_id=backup.extended_pan_id)

        def effects(result: DeviceResult | DeviceLogRead) -> None:
            if isinstance(result, DeviceResult) and result.success:
                for eui, _, _ in entries:
                    if eui in self.smi:
                        self.smi.set_chf(eui, chf)

        return self._send(req, chf, command, effects)

    def _srv_6_21(self, req: Request, sender: Party) -> Response:
        return self._plain_device_srv(req, sender)

    def _srv_6_23(self, req: Request, sender: Party) -> Response:
        return self._plain_device_srv(req, sender)

    def _plain_device_srv(self, req: Request, sender: Party) -> Response:
        target = self._device_target(req)
        self._require_authorised(sender, target)
        self._require_status(req.srv, target)
        return self._send(req, self._route(target), HubCommand(req.request_id, req.srv, req.srv, target))

    # == checks ==================================================================================================
    def _record(self, eui: Eui64) -> SmiRecord:
        try:
            return self.smi.record(eui)
        except UnknownDevice:
            raise _Refusal(RC.E19, f"{eui.dcc} is not in the Smart Metering Inventory") from None

    def _require_type(self, eui: Eui64, types: Iterable[DeviceType], srv: str) -> None:
        kind = self._record(eui).device_type
        if kind not in set(types):
            raise _Refusal(RC.E11, f"{srv} does not apply to {eui.dcc}, a {kind.name}")

    def _device_target(self, req: Request) -> Eui64:
        target = req.request_id.target
        self._require_type(target, req.spec.target_types, req.srv)
        return target

    def _require_authorised(self, sender: Party, device: Eui64, *, mpxn_text: str | None = None,
                            via: Eui64 | None = None) -> None:
        """E4 unless `sender` is the supplier registered, now, for the device's own MPxN. A device with none yet (a
        new meter) is authorised by the MPxN an 8.11 body names for it (ImportMPxN); one that never has one (a CHF
        before 8.14.x, the GPF, a PPMID, an IHD) through its CH. An ImportMPxN never authorises a supplier for a
        device that already serves another supplier's meter point."""
        if sender.role.code not in SUPPLIER_ROLES:
            return
        now = self._clock.now()
        own = self.registration.mpxns_of(device)
        if own:
            if self.registration.is_authorised_for_device(sender, device, now):
                return
            points = ", ".join(str(m) for m in own)
            raise _Refusal(RC.E4, f"{sender} is not the supplier registered for {device.dcc}'s MPxN {points} at "
                           f"{now.isoformat()}")
        if mpxn_text and (point := self._mpxn(mpxn_text)) is not None:
            if self.registration.is_authorised(sender, point, now):
                return
            raise _Refusal(RC.E4, f"{sender} is not the supplier registered for ImportMPxN {point} at "
                           f"{now.isoformat()}")
        for candidate in (via, self._chf_of(device)):
            if candidate is not None and self.registration.mpxns_of(candidate):
                if self.registration.is_authorised_for_device(sender, candidate, now):
                    return
                break
        raise _Refusal(RC.E4, f"{sender} is not authorised for {device.dcc} at {now.isoformat()}")

    def _require_status(self, srv: str, device: Eui64) -> None:
        allowed = self.smi_status_rules.get(srv)
        status = self._record(device).status
        if allowed is None or status is None:
            return
        if status not in allowed:
            raise _Refusal(RC.E5, f"{device.dcc} is {status.value}; {srv} needs "
                           f"{' or '.join(sorted(s.value for s in allowed))}")

    # == delivery over the WAN ===================================================================================
    def _route(self, device: Eui64) -> Eui64:
        chf = self._chf_of(device)
        if chf is None:
            raise _Refusal(RC.E20, f"no Communications Hub known for {device.dcc}")
        return chf

    def _chf_of(self, device: Eui64) -> Eui64 | None:
        hubs = self.wan.hubs()
        if device in hubs:
            return device
        if device in self.smi and (chf := self.smi.record(device).chf) is not None:
            return chf
        if isinstance(self.wan, EmulatedWan):
            for chf in hubs:
                if self.wan.hub(chf).owns(device):
                    return chf
        return None

    def _send(self, req: Request, chf: Eui64, command: HubCommand,
              on_result: Callable[[DeviceResult | DeviceLogRead], None] = lambda _r: None) -> Response:
        """Every check passed: transform (CV 4), or acknowledge (I99) and send the command now or at its
        ExecutionDateTime; the device's response is delivered later (`_respond`)."""
        if chf not in self.wan.hubs():
            return self._answer(req, RC.E20, f"CH {chf.dcc} is not attached to the SM WAN")
        if req.command_variant == 4:
            return self._transform(req)
        now = self._clock.now()
        item = _Queued(req, command, now, on_result)
        subject = command.device or command.target
        when = self._signed_execution.pop(req.request_id, None) or getattr(req.body, "execution_date_time", None)
        if when is not None and when >= CANCELLATION_DATE_TIME:
            ack = self._answer(req, RC.I99, "accepted: cancellation of a future-dated request")
            self._cancel_scheduled(req, subject)
            return ack
        if when is not None and when > now:
            if not hasattr(self._clock, "call_at"):
                raise DomainError(f"{req.srv} is future-dated ({when.isoformat()}): this DCC's clock cannot schedule")
            ack = self._answer(req, RC.I99, f"accepted: future-dated, to run at {when.isoformat()}")
            entry = _Scheduled(item, chf, subject, when)
            entry.timer = self._clock.call_at(when, lambda: self._run_scheduled(entry))  # type: ignore[attr-defined]
            self._scheduled.append(entry)
            return ack
        ack = self._answer(req, RC.I99, "accepted and passed access control")
        self._dispatch(item, chf)
        return ack

    def _transform(self, req: Request) -> Response:
        """CV 4: the Pre-Command for the User to sign; nothing goes to the device ([DP] cv.ts CV 4, Transform
        Service). GBCS is not built here: the payload is an opaque token naming the request."""
        payload = f"pre-command {req.srv} {req.request_id}".encode()
        self._transforms[req.request_id] = (req, payload)
        return self._answer(req, RC.I0, "Pre-Command for the User to sign and send back with CommandVariant 5",
                            PreCommand(PRE_COMMAND_GBCS_VERSION, payload))

    def _dispatch(self, item: _Queued, chf: Eui64) -> None:
        """Send now if the SM WAN is up (and nothing waits before it), else E20 or queue (`wan_down_policy`)."""
        queue = self._queues.setdefault(chf, deque())
        if self.wan.is_up(chf) and not queue:
            self._deliver(item, chf)
        elif self.wan_down_policy == "E20":
            self._respond(item, RC.E20, f"SM WAN to CH {chf.dcc} is down")
        else:
            queue.append(item)

    def _run_scheduled(self, entry: _Scheduled) -> None:
        if entry in self._scheduled:
            self._scheduled.remove(entry)
            self._dispatch(entry.item, entry.chf)

    def _cancel_scheduled(self, req: Request, subject: Eui64) -> None:
        """The 3000-12-31 request cancels the sender's waiting future-dated requests of the same SRV for the same
        device ([U] matching rule: the RTDS pairs each FUTURE_DATED template with a CANCELLATION one)."""
        rid = req.request_id
        hits = [e for e in self._scheduled if e.item.request.request_id.originator == rid.originator
                and e.item.request.srv == req.srv and e.subject == subject]
        for entry in hits:
            self._scheduled.remove(entry)
            self._cancel(entry.timer)
            self.cancelled.append(entry.item.request)
        item = _Queued(req, HubCommand(rid, req.srv, "cancel", subject), self._clock.now(), lambda _r: None)
        ids = ", ".join(str(e.item.request.request_id) for e in hits) or "nothing was waiting"
        self._respond(item, RC.I0, f"cancelled: {ids}")

    def _deliver(self, item: _Queued, chf: Eui64) -> None:
        try:
            result = self.wan.deliver(chf, item.command)
        except WanDown as exc:
            self._respond(item, RC.E20, str(exc))
            return
        if isinstance(result, DeviceResult) and not result.reached:
            self._respond(item, RC.E20, result.detail, result)
            return
        item.on_result(result)
        detail = result.detail if isinstance(result, DeviceResult) else "device log read"
        self._respond(item, RC.I0, detail, result)

    def _respond(self, item: _Queued, code: ResponseCode, detail: str, payload: object = None) -> None:
        """The device's response, delivered to the sender's outbox `response_delay` from now (dcc_outbox.py)."""
        def deliver() -> None:
            response = self._answer(item.request, code, detail, payload, sent_at=item.sent_at)
            self.outbox.post(item.request.request_id.originator, response)

        if self.response_delay:
            self._clock.call_later(self.response_delay, deliver)  # type: ignore[attr-defined]
        else:
            deliver()

    def _on_wan_state(self, chf: Eui64, up: bool, at: datetime) -> None:
        history = self._wan(chf)
        if not up:
            history.down(at)
            return
        history.up(at)
        self._commission_chf_if_connected(chf)
        queue = self._queues.get(chf)
        while queue and self.wan.is_up(chf):  # in order; a cut mid-flush leaves the rest queued
            self._deliver(queue.popleft(), chf)

    # == alerts from the CH ======================================================================================
    def _on_device_alert(self, alert: ChfAlert) -> None:
        self.device_alerts.append(alert)
        for observer in list(self.device_alert_observers):  # before any DCC alert it causes (N24)
            observer(alert)
        if self._on_gpf_alert(alert):  # GCS62 from the GPF: its backup for 8.12.2 (dcc_join.py)
            return
        self._backups[alert.chf] = alert
        if alert.cause is not LogChangeKind.JOINED or alert.device is None:
            return
        if alert.hash_of(alert.device):
            self._apply(alert.device, SmiEvent.JOINED)
            self._set_flag(alert.device, ServiceFlag.INSTALLED_NOT_COMMISSIONED)
            pending = self._pending_n24.pop(alert.device, None)
            if pending is not None:
                self._cancel(pending[1])
                if self.n24_trigger.on_hash:
                    self._raise(DccAlert(N24, self._clock.now(), pending[0], alert.device, "joined"))

    def _arm_n24(self, rid: RequestId, device: Eui64, join_time_period: int) -> None:
        self._disarm_n24(device)
        timer = None
        call_later = getattr(self._clock, "call_later", None)
        if call_later is not None:
            timer = call_later(join_time_period * self.join_time_unit, lambda: self._join_window_expired(device, rid))
        self._pending_n24[device] = (rid, timer)

    def _disarm_n24(self, device: Eui64) -> None:
        pending = self._pending_n24.pop(device, None)
        if pending is not None:
            self._cancel(pending[1])

    def _join_window_expired(self, device: Eui64, rid: RequestId) -> None:
        pending = self._pending_n24.get(device)
        if pending is None or pending[0] != rid:
            return
        del self._pending_n24[device]
        if self.n24_trigger.on_expiry:
            self._raise(DccAlert(N24, self._clock.now(), rid, device, "join window expired"))

    @staticmethod
    def _cancel(timer: object | None) -> None:
        if timer is not None:
            timer.cancel()  # type: ignore[attr-defined]

    def _raise(self, alert: DccAlert) -> None:
        self.dcc_alerts.append(alert)
        for observer in list(self.alert_observers):
            observer(alert)

    # == small helpers ===========================================================================================
    def _answer(self, req: Request, code: ResponseCode, detail: str, payload: object = None, *,
                sent_at: datetime | None = None) -> Response:
        now = self._clock.now()
        response = Response(req.request_id, req.srv, code, sent_at or now, now, detail, payload)  # type: ignore[arg-type]
        self.responses.append(response)
        return response

    def _apply(self, device: Eui64, event: SmiEvent) -> None:
        if device in self.smi and self.smi.can_apply(device, event):
            self.smi.apply(device, event)

    def _set_flag(self, device: Eui64, flag: ServiceFlag) -> None:
        for point in self.registration.mpxns_of(device):
            self.registration.set_service_flag(point, flag)

    @staticmethod
    def _mpxn(text: str) -> Mpan | Mprn | None:
        try:
            return parse_mpxn(text)
        except InputError:
            return None

    def _wan(self, chf: Eui64) -> WanHistory:
        return self._wan_history.setdefault(chf, WanHistory())

    # == MP281 mode ==============================================================================================
    def request_install_code(self, party: Party, device: Eui64 | str, *, into: object | None = None) -> bytes:
        """MP281 (proposed, [U]): the DCC serves a device's install code from the SMI to the supplier registered for
        it now. Off unless the DCC was built with `install_code_service` (e.g. install_codes.Mp281CodeService)."""
        if self.install_code_service is None:
            raise DomainError("this DCC holds no install codes (MP281 mode off: pass install_code_service=...)")
        return self.install_code_service.serve(  # type: ignore[attr-defined]
            party, Eui64.parse(device, where="device ID"), self._clock.now(), into=into)

    # == queries for tests and evidence ==========================================================================
    def responses_for(self, request_id: RequestId) -> list[Response]:
        return [r for r in self.responses if r.request_id == request_id]

    def final_response(self, request_id: RequestId) -> Response | None:
        found = self.responses_for(request_id)
        return found[-1] if found else None

    def scheduled(self) -> list[tuple[datetime, Request]]:
        """Future-dated requests waiting for their ExecutionDateTime, soonest first."""
        return sorted(((e.due, e.item.request) for e in self._scheduled), key=lambda pair: pair[0])

    def pre_commands(self) -> list[RequestId]:
        """RequestIDs answered with a Pre-Command (CV 4) whose signed pre-command (CV 5) has not come back."""
        return list(self._transforms)

    def queued(self, chf: Eui64 | None = None) -> list[Request]:
        queues = [self._queues.get(chf, deque())] if chf is not None else list(self._queues.values())
        return [item.request for q in queues for item in q]

    def ch_first_installed(self, chf: Eui64) -> datetime | None:
        return self._installed_at.get(chf)

    def ch_state(self, chf: Eui64) -> ChState:
        return self._ch_state.get(chf, ChState.PENDING)

    def first_connectivity(self, chf: Eui64) -> ConnectivityMeasure | None:
        installed = self._installed_at.get(chf)
        if installed is None:
            return None
        connected = self._wan(chf).first_up_since(installed)
        return ConnectivityMeasure(chf, installed, connected, self.first_connectivity_target, self._clock.now())

    def backup_of(self, chf: Eui64) -> ChfAlert | None:
        """The last CS14 log snapshot received from the CHF (what 8.12.1 restores from)."""
        return self._backups.get(chf)
