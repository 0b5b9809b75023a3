"""Unmodified bellows drives the emulated NCP through a full join + CBKE of an emulated ESME and GSME.

The hub side is harness/drivers/cbke_server.py using the NCP's CBKE EZSP commands; each meter is the KE client
with a certificate from a test CA. The key both ends hold afterwards is the same, the stick stored it in its key
table, and a meter whose certificate comes from another CA is refused with UNKNOWN_ISSUER and leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import zigpy.types as zt

from harness.drivers.ezsp import EzspCoordinator
from harness.emulation.ncp.transport import serve_ncp
from harness.emulation.network import DeviceSpec, EmulatedHan
from harness.zigbee.cbke.certificate import CertificateAuthority
from harness.zigbee.key_establishment import KeConfig, TerminateStatus
from tests.emulation.test_join_bellows import ESME, FAST_DEVICES, GSME, NCP_EUI, OTHER_CODE, OTHER_KEY, SPEC_CODE, \
    SPEC_KEY

pytestmark = pytest.mark.timeout(60)

CA = CertificateAuthority.generate(bytes.fromhex("5445535443413031"))


def _subject(eui: zt.EUI64) -> bytes:
    return bytes(eui)[::-1]  # certificates carry the EUI-64 big-endian


def _spec(kind: str, eui: zt.EUI64, code: str, ca: CertificateAuthority = CA) -> DeviceSpec:
    return DeviceSpec(kind, eui, code, options={"cbke": ca.issue(_subject(eui), valid_from=0)})


@contextlib.asynccontextmanager
async def cbke_bench(devices: list[DeviceSpec], *, version: int = 13, transport: str = "pty",
                     hub_config: KeConfig | None = None) -> AsyncIterator[tuple[EmulatedHan, EzspCoordinator]]:
    han = EmulatedHan(devices, device_options=FAST_DEVICES)
    ncp = han.make_ncp(version, eui64=NCP_EUI, strict=True)
    ncp.install_cbke_data(CA.issue(_subject(zt.EUI64.convert(NCP_EUI)), valid_from=0))
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(han.close)
        url = await stack.enter_async_context(serve_ncp(ncp, transport))  # type: ignore[arg-type]
        coordinator = EzspCoordinator(url, timeout=10)
        stack.push_async_callback(coordinator.close)
        await coordinator.connect()
        await coordinator.form()
        await coordinator.enable_cbke(**({"config": hub_config} if hub_config is not None else {}))
        han.start()
        yield han, coordinator
    ncp.check()


@pytest.mark.parametrize(("version", "transport"), [(13, "pty"), (8, "tcp"), (14, "pty")])
async def test_esme_and_gsme_join_then_complete_cbke(version: int, transport: str) -> None:
    async with cbke_bench([_spec("esme", ESME, SPEC_CODE), _spec("gsme", GSME, OTHER_CODE)], version=version,
                          transport=transport) as (han, coordinator):
        for eui, key in ((ESME, SPEC_KEY), (GSME, OTHER_KEY)):
            await coordinator.permit_install_code(eui, key, 60)
            await coordinator.wait_joined(eui, 15)
            result = await coordinator.wait_key_established(eui, 15)
            assert result.outcome.success, result.outcome.reason
            device = han.device(eui)
            assert device.cbke is not None
            await asyncio.wait_for(device.cbke.established.wait(), 10)  # a sleepy GSME polls for the last frame
            assert device.key_established_ok
            assert result.link_key is not None and bytes(device.link_key) == result.link_key
            assert result.link_key != key  # the install-code key is replaced
            assert result.certificate is not None and result.certificate.subject == _subject(eui)
            assert result.certificate.issuer_hex == "5445535443413031"
            assert result.outcome.duration > 0
        # A finished session leaves nothing behind: no watch sleeping on to its old deadline, holding the server
        # (and the whole zigpy application) alive for 15 s after the exchange.
        assert coordinator.cbke._watches == {} and coordinator.cbke._sessions == {}
        assert not [t for t in asyncio.all_tasks() if t.get_coro().__qualname__.startswith("CbkeServer.")]


async def test_meter_from_an_unknown_issuer_is_refused_and_leaves() -> None:
    rogue = CertificateAuthority.generate(bytes.fromhex("524F475545434131"))
    async with cbke_bench([_spec("esme", ESME, SPEC_CODE, rogue)]) as (han, coordinator):
        await coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        await coordinator.wait_joined(ESME, 15)
        result = await coordinator.wait_key_established(ESME, 15)
        assert not result.outcome.success
        assert result.outcome.status is TerminateStatus.UNKNOWN_ISSUER
        assert "524F475545434131" in result.outcome.reason
        esme = han.device(ESME)
        for _ in range(100):
            if esme.leaves:
                break
            await asyncio.sleep(0.02)
        assert esme.leaves and "CBKE failed" in esme.leaves[0][1]
        assert esme.cbke is not None and esme.cbke.outcomes[0].status is TerminateStatus.UNKNOWN_ISSUER


async def test_a_hub_slower_than_it_advertised_times_the_meter_out_and_it_leaves() -> None:
    """The hub advertises 0 s generate times but its stick takes 1 s for the ephemeral key: the meter (margin 0.3 s
    here instead of EmberZNet's 10 s) gives up waiting for Ephemeral Data without a Terminate, as EmberZNet does,
    and leaves; the hub, in turn, times out waiting for Confirm Key Data and records no key."""
    spec = _spec("esme", ESME, SPEC_CODE)
    spec.options["cbke_config"] = KeConfig(timeout_margin=0.3)
    hub = KeConfig(ephemeral_data_generate_time=0, confirm_key_generate_time=0, timeout_margin=0.5)
    async with cbke_bench([spec], hub_config=hub) as (han, coordinator):
        crypto = coordinator.cbke.crypto
        generate = crypto.generate_ephemeral

        async def slow_stick() -> bytes:
            await asyncio.sleep(1.0)
            return await generate()

        crypto.generate_ephemeral = slow_stick  # type: ignore[method-assign]
        await coordinator.permit_install_code(ESME, SPEC_KEY, 60)
        await coordinator.wait_joined(ESME, 15)
        result = await coordinator.wait_key_established(ESME, 15)
        esme = han.device(ESME)
        for _ in range(100):
            if esme.leaves:
                break
            await asyncio.sleep(0.02)
    assert esme.cbke is not None
    meter = esme.cbke.outcomes[0]
    assert not meter.success and meter.timed_out and meter.status is None and not meter.terminate_sent
    assert meter.reason == "timed out waiting for Ephemeral Data Response"
    assert esme.leaves and esme.leaves[0][1].startswith("CBKE failed: timed out waiting for Ephemeral Data Response")
    assert not result.outcome.success and result.link_key is None
    assert result.outcome.timed_out and result.outcome.reason == "timed out waiting for Confirm Key Data Request", \
        result.outcome
