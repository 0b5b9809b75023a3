"""The emulated NCP's CBKE crypto suite 2 (sect283k1) commands, as a host sees them on a Silicon Labs stick.

bellows' tables (research/ezsp.md §5): getCertificate283k1 0xEC; generateCbkeKeys283k1 0xE8 answered by the
generateCbkeKeysHandler283k1 0xE9 callback; calculateSmacs283k1 0xEA answered by calculateSmacsHandler283k1 0xEB;
clearTemporaryDataMaybeStoreLinkKey283k1 0xEE; savePreinstalledCbkeData283k1 0xED. Suite-2 data goes in with
setValue(VALUE_CERTIFICATE_283K1 0x1A, VALUE_PUBLIC_KEY_283K1 0x1B, VALUE_PRIVATE_KEY_283K1 0x1C) and then
savePreinstalledCbkeData283k1, which copies it to NV (here the manufacturing-token store, under
"MFG_CBKE_283K1_DATA": CA public key 37 | certificate 74 | private key 36, the order EmberZNet's token uses for the
163k1 data). That VALUE_PUBLIC_KEY_283K1 is the CA's public key (there is no other CA value id) is our reading,
[U] in docs/cbke.md. getValue gives back the certificate and CA key, never the private key: it stays here.

A stick without CBKE data answers getCertificate283k1 with an error status, and one built without the ECC library
(`cbke_library=False`) answers every CBKE command with LIBRARY_NOT_PRESENT (0xB5), as stock firmware likely does.
"""

from __future__ import annotations

import logging
from typing import Any

import bellows.types as t
import zigpy.types as zt

from harness.zigbee.cbke import curve
from harness.zigbee.cbke.certificate import CERTIFICATE_BYTES, DeviceCredentials
from harness.zigbee.cbke.engine import CbkeCryptoError, CbkeEngine

LOGGER = logging.getLogger(__name__)

CBKE_TOKEN = "MFG_CBKE_283K1_DATA"
_VALUE_CERT = t.EzspValueId.VALUE_CERTIFICATE_283K1
_VALUE_CA = t.EzspValueId.VALUE_PUBLIC_KEY_283K1
_VALUE_PRIVATE = t.EzspValueId.VALUE_PRIVATE_KEY_283K1
_OK = t.EmberStatus.SUCCESS


def pack_cbke_token(credentials: DeviceCredentials) -> str:
    return (credentials.ca_public_key + credentials.certificate + credentials.private_key_bytes).hex()


def unpack_cbke_token(value: str) -> DeviceCredentials:
    raw = bytes.fromhex(value)
    ca, cert, key = raw[:37], raw[37:37 + CERTIFICATE_BYTES], raw[37 + CERTIFICATE_BYTES:]
    return DeviceCredentials(cert, int.from_bytes(key, "big"), ca)


class CbkeHandlers:
    """Mixin for EmulatedNcp: the suite-2 CBKE commands and the getValue/setValue paths for CBKE data."""

    cbke_library: bool = True
    _cbke_engine: CbkeEngine | None = None
    _cbke_engine_token: str | None = None

    # -- provisioning (what a factory does to a real stick) ----------------------------------------------

    def install_cbke_data(self, credentials: DeviceCredentials) -> None:
        """Burn suite-2 CBKE data into the emulated stick (as a factory writes the manufacturing token)."""
        self.nv.mfg_tokens[CBKE_TOKEN] = pack_cbke_token(credentials)  # type: ignore[attr-defined]

    def _cbke(self) -> CbkeEngine | None:
        token = self.nv.mfg_tokens.get(CBKE_TOKEN)  # type: ignore[attr-defined]
        if token is None:
            return None
        if self._cbke_engine is None or self._cbke_engine_token != token:
            self._cbke_engine = CbkeEngine(unpack_cbke_token(token))
            self._cbke_engine_token = token
        return self._cbke_engine

    # -- getValue / setValue hooks (called from EmulatedNcp.cmd_getValue / cmd_setValue) -----------------

    def cbke_get_value(self, value_id: Any) -> dict | None:
        if value_id not in (_VALUE_CERT, _VALUE_CA, _VALUE_PRIVATE):
            return None
        token = self.nv.mfg_tokens.get(CBKE_TOKEN)  # type: ignore[attr-defined]
        if value_id == _VALUE_PRIVATE or token is None or not self.cbke_library:
            return {"status": t.EzspStatus.ERROR_INVALID_ID, "value": b""}
        creds = unpack_cbke_token(token)
        return {"status": t.EzspStatus.SUCCESS,
                "value": creds.certificate if value_id == _VALUE_CERT else creds.ca_public_key}

    def cbke_set_value(self, value_id: Any, value: bytes) -> dict | None:
        sizes = {_VALUE_CERT: CERTIFICATE_BYTES, _VALUE_CA: curve.POINT_BYTES, _VALUE_PRIVATE: curve.SCALAR_BYTES}
        if value_id not in sizes:
            return None
        if len(value) != sizes[value_id]:
            return {"status": t.EzspStatus.ERROR_INVALID_VALUE}
        self._ram.values[int(value_id)] = bytes(value)  # type: ignore[attr-defined]
        return {"status": t.EzspStatus.SUCCESS}

    # -- the commands ---------------------------------------------------------------------------------------

    def cmd_savePreinstalledCbkeData283k1(self, p: dict) -> dict:
        if not self.cbke_library:
            return {"status": t.EmberStatus.LIBRARY_NOT_PRESENT}
        values = self._ram.values  # type: ignore[attr-defined]
        try:
            cert, ca, key = (values[int(v)] for v in (_VALUE_CERT, _VALUE_CA, _VALUE_PRIVATE))
        except KeyError:
            return {"status": t.EmberStatus.INVALID_CALL}
        self.install_cbke_data(DeviceCredentials(cert, int.from_bytes(key, "big"), ca))
        for v in (_VALUE_CERT, _VALUE_CA, _VALUE_PRIVATE):
            values.pop(int(v), None)
        return {"status": _OK}

    def cmd_getCertificate283k1(self, p: dict) -> dict:
        if not self.cbke_library:
            return {"status": t.EmberStatus.LIBRARY_NOT_PRESENT, "localCert": [0xFF] * CERTIFICATE_BYTES}
        engine = self._cbke()
        if engine is None:
            return {"status": t.EmberStatus.ERR_FATAL, "localCert": [0xFF] * CERTIFICATE_BYTES}
        return {"status": _OK, "localCert": t.EmberCertificate283k1Data(engine.certificate)}

    def cmd_generateCbkeKeys283k1(self, p: dict) -> dict:
        engine = self._cbke()
        if not self.cbke_library:
            return {"status": t.EmberStatus.LIBRARY_NOT_PRESENT}
        if engine is None:
            return {"status": t.EmberStatus.INVALID_CALL}
        public = engine.generate_ephemeral()
        # The real stick answers at once and calls back when the ECC engine is done.
        self.callback("generateCbkeKeysHandler283k1", status=_OK,  # type: ignore[attr-defined]
                      ephemeralPublicKey=t.EmberPublicKey283k1Data(public))
        return {"status": _OK}

    def cmd_calculateSmacs283k1(self, p: dict) -> dict:
        engine = self._cbke()
        if not self.cbke_library:
            return {"status": t.EmberStatus.LIBRARY_NOT_PRESENT}
        if engine is None:
            return {"status": t.EmberStatus.INVALID_CALL}
        try:
            smacs = engine.calculate_smacs(bool(p["amInitiator"]), bytes(p["partnerCertificate"]),
                                           bytes(p["partnerEphemeralPublicKey"]))
        except CbkeCryptoError as exc:
            LOGGER.info("emulated NCP: calculateSmacs283k1 failed: %s", exc)
            self.callback("calculateSmacsHandler283k1", status=t.EmberStatus.ERR_FATAL,  # type: ignore[attr-defined]
                          initiatorSmac=t.EmberSmacData([0] * 16), responderSmac=t.EmberSmacData([0] * 16))
            return {"status": _OK}
        self.callback("calculateSmacsHandler283k1", status=_OK,  # type: ignore[attr-defined]
                      initiatorSmac=t.EmberSmacData(smacs.initiator_mac),
                      responderSmac=t.EmberSmacData(smacs.responder_mac))
        return {"status": _OK}

    def cmd_clearTemporaryDataMaybeStoreLinkKey283k1(self, p: dict) -> dict:
        engine = self._cbke()
        if not self.cbke_library:
            return {"status": t.EmberStatus.LIBRARY_NOT_PRESENT}
        if engine is None:
            return {"status": t.EmberStatus.INVALID_CALL}
        stored = engine.clear_temporary_data(bool(p["storeLinkKey"]))
        if stored is not None:
            partner, key = stored
            # certificate subjects are big-endian; zigpy's EUI64 is little-endian on the wire
            partner_eui = zt.EUI64(partner[::-1])
            trust_centre = getattr(self, "joined_trust_centre", None)
            if trust_centre is not None and partner_eui == trust_centre:
                # A joined device that established a key with its trust centre: it becomes the TC link key
                # (EmberZNet keeps the TC link key apart from the key table; docs/hub-dut.md)
                self.nv.tc_link_key = bytes(key).hex()  # type: ignore[attr-defined]
            else:
                result = self._store_link_key(None, partner_eui, zt.KeyData(key))  # type: ignore[attr-defined]
                if result["status"] != t.sl_Status.OK:
                    return {"status": t.EmberStatus.TABLE_FULL}
            self.cbke_link_keys[partner_eui] = key
        return {"status": _OK}

    @property
    def cbke_link_keys(self) -> dict[zt.EUI64, bytes]:
        """Link keys this NCP stored from CBKE, by partner (for the evidence key table)."""
        keys = self.__dict__.setdefault("_cbke_link_keys", {})
        return keys
