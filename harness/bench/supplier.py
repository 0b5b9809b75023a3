"""A supplier on the bench: a DCC User with its own install-code store, sending DUIS requests through the DCC.

Every request and response goes on the timeline, and each response time (virtual: the DCC may queue a request
until the WAN returns) becomes a named measurement. Every request is signed with the supplier's key from the
keystore (its User ID's certificate; harness.dcc_keystore.bench_keystore by default) before the DCC sees it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from harness.dcc_keystore import bench_keystore
from harness.evidence.bundle import EvidenceBundle
from harness.smets.dcc import Dcc
from harness.smets.duis import CommissionDevice, DuisSigner, Keystore, Request, Response, UpdateHanDeviceLog
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
        self.responses: list[Response] = []

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
        if isinstance(body, CommissionDevice):  # 8.1.1 carries the sender's clock (virtual here)
            body = body.at(self._dcc.clock.now())
        request = Request.build(body, originator=self.party.user_id, target=Eui64.parse(target),
                                counter=self._counter(), command_variant=command_variant)
        xml = request.to_xml(self.signer)
        self._evidence.timeline.record("srv.request", supplier=self.name, srv=request.srv,
                                       request_id=str(request.request_id), summary=request.summary(),
                                       signed_by=self.signer.cert.name)
        response = self._dcc.submit(xml, self.party)
        self.responses.append(response)
        self._evidence.timeline.record("srv.response", supplier=self.name, srv=response.srv,
                                       request_id=str(response.request_id), code=str(response.code),
                                       detail=response.detail)
        if response.answered_at is not None and response.sent_at is not None:
            elapsed = (response.answered_at - response.sent_at).total_seconds()
            self._evidence.record.measure(f"srv_response_time.{response.srv}", elapsed, "virtual_s")
        return response

    def update_han_device_log_add(self, device: Eui64 | str, chf: Eui64 | str, *, mpxn: str,
                                  join_time_period: int = DEFAULT_JOIN_TIME_PERIOD) -> Response:
        """SRV 8.11 Add with the code from this supplier's own store; NoInstallCode if it holds none."""
        eui = Eui64.parse(device)
        code = self.store.get(eui)
        if code is None:
            self._evidence.timeline.record("srv.not_sent", supplier=self.name, srv="8.11",
                                           reason=f"no install code for {eui.dcc}")
            raise NoInstallCode(f"{self.name} holds no install code for {eui.dcc}: it cannot send SRV 8.11 Add")
        body = UpdateHanDeviceLog.add(eui, code, join_time_period=join_time_period, import_mpxn=mpxn)
        return self.send(body, chf)

    def update_han_device_log_remove(self, device: Eui64 | str, chf: Eui64 | str) -> Response:
        return self.send(UpdateHanDeviceLog.remove(Eui64.parse(device)), chf)
