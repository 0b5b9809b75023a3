"""A supplier on the bench: a DCC User with its own install-code store, sending DUIS requests through the DCC.

The DCC answers a device SRV with an I99 acknowledgement and delivers the device's response later, to this User's
outbox (harness/smets/dcc_outbox.py, as DCC Boxed POSTs it to the User's receive-response address): `send` returns
the synchronous answer, `outcome` reads the delivered one, `request` does both. A critical SRV goes through the
transform: CV 4 returns a Pre-Command, CV 5 sends it back signed under the same RequestID (`send_critical`).

Every request and response goes on the timeline, and each final response's time (virtual: the DCC may queue a
request until the WAN returns, or hold a future-dated one) becomes a named measurement. Every request is signed with the
supplier's key from the keystore (its User ID's certificate; harness.dcc_keystore.bench_keystore by default) before
the DCC sees it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from harness.dcc_keystore import bench_keystore
from harness.evidence.bundle import EvidenceBundle
from harness.smets.dcc import Dcc
from harness.smets.duis import (
    CommissionDevice,
    DuisSigner,
    Keystore,
    PreCommand,
    Request,
    Response,
    ResponseCode,
    UpdateHanDeviceLog,
)
from harness.smets.identities import Eui64, Party
from harness.smets.install_codes import InstallCodeStore

DEFAULT_JOIN_TIME_PERIOD = 90  # RTDS sample value (domain.md §4.5); unit set by the device log ([U])


class NoInstallCode(LookupError):
    """The supplier holds no install code for the device: it cannot build an 8.11 Add (the DP121 stranded state)."""


class Supplier:
    def __init__(self, party: Party, dcc: Dcc, evidence: EvidenceBundle, *,
                 counters: Callable[[], int] | None = None, keystore: Keystore | None = None) -> None:
        self.party = party
        self.store = InstallCodeStore(party)
        self._dcc = dcc
        self._evidence = evidence
        self._counter = counters or itertools.count(1).__next__
        self._keystore = keystore if keystore is not None else bench_keystore()
        self._signer: DuisSigner | None = None
        self.responses: list[Response] = []  # every answer this supplier received, synchronous or delivered
        self._delivered: dict[object, Response] = {}  # collected from the outbox, by RequestID

    @property
    def name(self) -> str:
        return self.party.name

    @property
    def signer(self) -> DuisSigner:
        """The key this supplier signs with: its User ID's certificate in the keystore."""
        if self._signer is None:
            self._signer = self._keystore.signer_for(self.party.user_id)
        return self._signer

    def send(self, body: Any, target: Eui64 | str, *, command_variant: int | None = None) -> Response:
        """The DCC's synchronous answer: a refusal, a non-device result, a Pre-Command (CV 4) or I99."""
        if isinstance(body, CommissionDevice):  # 8.1.1 carries the sender's clock (virtual here)
            body = body.at(self._dcc.clock.now())
        request = Request.build(body, originator=self.party.user_id, target=Eui64.parse(target),
                                counter=self._counter(), command_variant=command_variant)
        return self._submit(request)

    def _submit(self, request: Request) -> Response:
        xml = request.to_xml(self.signer)
        self._evidence.timeline.record("srv.request", supplier=self.name, srv=request.srv,
                                       request_id=str(request.request_id), summary=request.summary(),
                                       command_variant=request.command_variant, signed_by=self.signer.cert.name)
        response = self._dcc.submit(xml, self.party)
        self._received(response, delivered=False)
        return response

    def _received(self, response: Response, *, delivered: bool) -> None:
        self.responses.append(response)
        self._evidence.timeline.record("srv.response", supplier=self.name, srv=response.srv,
                                       request_id=str(response.request_id), code=str(response.code),
                                       detail=response.detail, delivered=delivered)
        if response.code is not ResponseCode.I99:  # a final answer: measure it
            elapsed = (response.answered_at - response.sent_at).total_seconds()
            self._evidence.record.measure(f"srv_response_time.{response.srv}", elapsed, "virtual_s")

    def outcome(self, answer: Response) -> Response | None:
        """The final answer to `answer`'s request: `answer` itself unless it is an I99 acknowledgement; then the
        device's response delivered to this supplier's outbox, or None while none has arrived (WAN queue,
        future-dated, response delay)."""
        if answer.code is not ResponseCode.I99:
            return answer
        for response in self._dcc.outbox.collect(self.party.user_id):
            self._delivered[response.request_id] = response
            self._received(response, delivered=True)
        return self._delivered.get(answer.request_id)

    def request(self, body: Any, target: Eui64 | str, *, command_variant: int | None = None) -> Response:
        """Send, and for a device SRV read its delivered response; the I99 if none has arrived yet."""
        answer = self.send(body, target, command_variant=command_variant)
        return self.outcome(answer) or answer

    def send_critical(self, body: Any, target: Eui64 | str) -> Response:
        """A critical SRV: CV 4 (the DCC returns a Pre-Command, nothing reaches the device), then CV 5 with the
        Pre-Command signed, under the same RequestID. Returns the CV 5 answer (I99), or the CV 4 refusal.
        GBCS signing is a non-goal: the Pre-Command goes back as the DCC issued it."""
        pre = self.send(body, target, command_variant=4)
        if pre.code is not ResponseCode.I0 or not isinstance(pre.payload, PreCommand):
            return pre
        return self._submit(Request.signed(pre.request_id, pre.srv, pre.payload.gbcs_payload))

    def commission(self, device: Eui64 | str) -> Response:
        """SRV 8.1.1 (critical): the final answer, or the I99 while the device's response has not arrived."""
        answer = self.send_critical(CommissionDevice(), device)
        return self.outcome(answer) or answer

    def update_han_device_log_add(self, device: Eui64 | str, chf: Eui64 | str, *, mpxn: str,
                                  join_time_period: int = DEFAULT_JOIN_TIME_PERIOD) -> Response:
        """SRV 8.11 Add with the code from this supplier's own store (final answer, or the I99 while none has
        arrived); NoInstallCode if it holds none."""
        eui = Eui64.parse(device)
        code = self.store.get(eui)
        if code is None:
            self._evidence.timeline.record("srv.not_sent", supplier=self.name, srv="8.11",
                                           reason=f"no install code for {eui.dcc}")
            raise NoInstallCode(f"{self.name} holds no install code for {eui.dcc}: it cannot send SRV 8.11 Add")
        body = UpdateHanDeviceLog.add(eui, code, join_time_period=join_time_period, import_mpxn=mpxn)
        return self.request(body, chf)

    def update_han_device_log_remove(self, device: Eui64 | str, chf: Eui64 | str) -> Response:
        return self.request(UpdateHanDeviceLog.remove(Eui64.parse(device)), chf)
