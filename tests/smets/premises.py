"""Identities and sample values the SMETS domain tests share.

Device and user EUI-64s follow the RTDS identity conventions (domain.md §0): devices 00-DB-12-34-56-78-90-Ax,
DCC Users 90-B3-D5-1F-30-0x-00-00. The install code is the DUIS 8.11 sample and its link key the verified vector.
"""

from __future__ import annotations

from harness.smets.duis import DCC_ACB_EUI
from harness.smets.identities import Eui64

DCC = Eui64.parse(DCC_ACB_EUI)
ESME = Eui64.parse("00-DB-12-34-56-78-90-A0")
GSME = Eui64.parse("00-DB-12-34-56-78-90-A1")
CHF = Eui64.parse("00-DB-12-34-56-78-90-A2")
GPF = Eui64.parse("00-DB-12-34-56-78-90-A3")
IHD = Eui64.parse("00-DB-12-34-56-78-90-A4")

SUPPLIER_A = Eui64.parse("90-B3-D5-1F-30-01-00-00")  # the RTDS originator (an import supplier)
SUPPLIER_B = Eui64.parse("90-B3-D5-1F-30-03-00-00")

MPAN = "1312345678118"  # a 13-digit MPAN core with a valid check digit
# domain.md §1.2: ASCII "0123456789ABCDEF"; §4.4 verified vector: its AES-MMO link key of code + CRC (F5 96).
RTDS_CODE = bytes.fromhex("30313233343536373839414243444546")
RTDS_LINK_KEY = bytes.fromhex("17E92CAAA342C367E8EDDC58EEBA69ED")
