"""Unmodified bellows drives the emulated NCP's CBKE suite-2 commands over a real pty (strict mode).

The NCP's certificate and key go in the way a host provisions a stick (setValue x3 + savePreinstalledCbkeData283k1);
the NCP then plays the responder V against an initiator U computed here from the SE test vectors' keys, and the
SMACs and the stored link key are checked against vectors.md §4.3, not against our own output.
"""

from __future__ import annotations

import asyncio

import bellows.types as t
import pytest
import zigpy.types as zt

from harness.emulation.ncp import EmulatedNcp, serve_ncp
from harness.zigbee.cbke import curve
from harness.zigbee.cbke.certificate import DeviceCredentials
from harness.zigbee.cbke.engine import CbkeEngine
from tests.emulation.ncp_helpers import COORDINATOR_EUI64, bellows_app
from tests.zigbee import test_cbke_vectors as v

pytestmark = pytest.mark.timeout(30)


def _ok(status) -> bool:
    return t.sl_Status.from_ember_status(status) == t.sl_Status.OK


async def _callback(ezsp, name: str, command):
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def on_callback(frame_name, args):
        if frame_name == name and not future.done():
            future.set_result(args)

    handle = ezsp.add_callback(on_callback)
    try:
        (status,) = await command
        assert _ok(status), status
        return await asyncio.wait_for(future, 5)
    finally:
        ezsp.remove_callback(handle)


@pytest.mark.parametrize("version", [8, 13, 14])
async def test_bellows_runs_cbke_on_the_emulated_ncp(version: int):
    ncp = EmulatedNcp(version, eui64=COORDINATOR_EUI64, strict=True)
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        ezsp = app._ezsp
        status, _ = await ezsp.getCertificate283k1()
        assert not _ok(status)  # no CBKE data yet
        for value_id, value in ((t.EzspValueId.VALUE_CERTIFICATE_283K1, v.CERT_V),
                                (t.EzspValueId.VALUE_PUBLIC_KEY_283K1, v.CA_PUB),
                                (t.EzspValueId.VALUE_PRIVATE_KEY_283K1, v.STATIC_V.to_bytes(36, "big"))):
            (status,) = await ezsp.setValue(valueId=value_id, value=value)
            assert _ok(status)
        (status,) = await ezsp.savePreinstalledCbkeData283k1()
        assert _ok(status)
        status, cert = await ezsp.getCertificate283k1()
        assert _ok(status) and bytes(cert) == v.CERT_V
        status, value = await ezsp.getValue(valueId=t.EzspValueId.VALUE_PUBLIC_KEY_283K1)
        assert _ok(status) and bytes(value) == v.CA_PUB
        status, value = await ezsp.getValue(valueId=t.EzspValueId.VALUE_PRIVATE_KEY_283K1)
        assert not _ok(status) and bytes(value) == b""  # the private key never leaves the NCP

        meter = CbkeEngine(DeviceCredentials(v.CERT_U, v.STATIC_U, v.CA_PUB))
        qeu = meter.generate_ephemeral()
        status, qev = await _callback(ezsp, "generateCbkeKeysHandler283k1", ezsp.generateCbkeKeys283k1())
        assert _ok(status) and curve.decode_point(bytes(qev))
        status, macu, macv = await _callback(
            ezsp, "calculateSmacsHandler283k1",
            ezsp.calculateSmacs283k1(amInitiator=False, partnerCertificate=t.EmberCertificate283k1Data(v.CERT_U),
                                     partnerEphemeralPublicKey=t.EmberPublicKey283k1Data(qeu)))
        assert _ok(status)
        smacs = meter.calculate_smacs(True, v.CERT_V, bytes(qev))
        assert (bytes(macu), bytes(macv)) == (smacs.initiator_mac, smacs.responder_mac)
        (status,) = await ezsp.clearTemporaryDataMaybeStoreLinkKey283k1(storeLinkKey=True)
        assert _ok(status)
        partner, key = meter.clear_temporary_data(True)
        assert partner == v.ID_V
        meter_eui = zt.EUI64(v.ID_U[::-1])
        assert ncp.cbke_link_keys[meter_eui] == key
        assert any(e.eui64 == str(meter_eui) and e.key == key.hex() for e in ncp.nv.key_table)

        # a bad ephemeral point: the callback reports failure, and nothing is stored
        await _callback(ezsp, "generateCbkeKeysHandler283k1", ezsp.generateCbkeKeys283k1())
        status, _u, _v = await _callback(
            ezsp, "calculateSmacsHandler283k1",
            ezsp.calculateSmacs283k1(amInitiator=False, partnerCertificate=t.EmberCertificate283k1Data(v.CERT_U),
                                     partnerEphemeralPublicKey=t.EmberPublicKey283k1Data(b"\x02" + bytes(36))))
        assert not _ok(status)
    ncp.check()


async def test_the_exchange_with_the_vector_ephemeral_keys_gives_the_vector_macs():
    # Drive the NCP's engine with the SE responder's ephemeral key: MACU/MACV must be the vectors'.
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    ncp.install_cbke_data(DeviceCredentials(v.CERT_V, v.STATIC_V, v.CA_PUB))
    engine = ncp._cbke()
    assert engine is not None
    engine._randbelow = lambda _n: v.EPH_V - 1  # generate_ephemeral picks randbelow(n - 1) + 1
    assert engine.generate_ephemeral() == v.QEV
    smacs = engine.calculate_smacs(False, v.CERT_U, v.QEU)
    assert (smacs.initiator_mac, smacs.responder_mac) == (v.MACU, v.MACV)


async def test_a_stick_without_the_ecc_library():
    ncp = EmulatedNcp(13, eui64=COORDINATOR_EUI64, strict=True)
    ncp.cbke_library = False
    async with serve_ncp(ncp, "pty") as url, bellows_app(url) as app:
        status, _ = await app._ezsp.getCertificate283k1()
        assert status == t.EmberStatus.LIBRARY_NOT_PRESENT
        (status,) = await app._ezsp.generateCbkeKeys283k1()
        assert status == t.EmberStatus.LIBRARY_NOT_PRESENT
