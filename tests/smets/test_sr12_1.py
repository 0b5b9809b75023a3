"""SR 12.1 Request WAN Matrix through the emulated DCC, answered from the coverage database (domain.md §1.10).

Shapes: request `RequestWANMatrix{PartialAddress{PostCode, AddressIdentifier}}` ([DT]) or `{UPRN}` ([DP]);
response `DSPWANMatrix{CSPRegion, CoverageAvailability, WANTechnology, ConnectivityLikelihood}` ([DP]), in the
ServiceUserGateway namespace. "No premises found" (MP097) has no public DUIS spelling [U]: the DCC helper writes
`DSPWANMatrix{CSPRegion Unknown, AdditionalInformation "No premises found..."}` (docs/duis-and-dcc.md).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.coverage_file import load_coverage_db
from harness.smets.clock import VirtualClock
from harness.smets.dcc import Dcc
from harness.smets.duis import DCC_ACB_EUI, Request, RequestWanMatrix
from harness.smets.identities import Eui64, Party, Role
from harness.smets.registration import Registration
from harness.smets.smi import SmartMeteringInventory

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "coverage_db.yaml"
NS = {"sr": "http://www.dccinterface.co.uk/ServiceUserGateway"}
SUPPLIER = Party("Supplier A", Eui64.parse("90-B3-D5-1F-30-01-00-00"), Role.IS)  # RTDS business originator


class Bench:
    def __init__(self) -> None:
        self.clock = VirtualClock(datetime(2020, 3, 2, 9, 0, tzinfo=UTC))
        db = load_coverage_db(FIXTURE, clock=self.clock)
        self.dcc = Dcc(self.clock, SmartMeteringInventory(self.clock), Registration(self.clock), coverage=db)
        self.counter = 0

    def ask(self, **body: str) -> ET.Element:
        self.counter += 1
        request = Request.build(RequestWanMatrix(**body), originator=SUPPLIER.user_id, target=DCC_ACB_EUI,
                                counter=self.counter)
        response = self.dcc.submit(request.to_xml(), SUPPLIER)
        root = ET.fromstring(response.to_xml())
        assert root.findtext("sr:Header/sr:ResponseCode", namespaces=NS) == "I0"
        assert root.findtext("sr:Body/sr:ResponseMessage/sr:ServiceReferenceVariant", namespaces=NS) == "12.1"
        matrix = root.find("sr:Body/sr:ResponseMessage/sr:DSPWANMatrix", NS)
        assert matrix is not None
        return matrix


@pytest.fixture
def bench() -> Bench:
    return Bench()


def field(matrix: ET.Element, name: str) -> str | None:
    return matrix.findtext(f"sr:{name}", namespaces=NS)


def test_request_by_postcode_and_address_identifier_has_the_rtds_shape() -> None:
    request = Request.build(RequestWanMatrix(post_code="GU1 3QF", address_identifier="3"),
                            originator=SUPPLIER.user_id, target=DCC_ACB_EUI, counter=1)
    root = ET.fromstring(request.to_xml())
    part = root.find("sr:Body/sr:RequestWANMatrix/sr:PartialAddress", NS)
    assert part is not None
    assert part.findtext("sr:PostCode", namespaces=NS) == "GU1 3QF"
    assert part.findtext("sr:AddressIdentifier", namespaces=NS) == "3"


def test_known_premises_answer_dspwanmatrix(bench: Bench) -> None:
    matrix = bench.ask(post_code="GU1 3QF", address_identifier="3")
    assert field(matrix, "CSPRegion") == "South"
    assert field(matrix, "CoverageAvailability") == "true"
    assert field(matrix, "WANTechnology") == "30"
    assert field(matrix, "ConnectivityLikelihood") == "High"
    assert field(matrix, "CSPRegion") != "Unknown"


def test_by_uprn_in_the_north(bench: Bench) -> None:
    matrix = bench.ask(uprn="906700000008")
    assert field(matrix, "CSPRegion") == "North"
    assert matrix.findtext("sr:Request/sr:UPRN", namespaces=NS) == "906700000008"


def test_planned_coverage_answers_not_available(bench: Bench) -> None:
    matrix = bench.ask(post_code="IV1 1QX", address_identifier="14")
    assert field(matrix, "CoverageAvailability") == "false"
    assert field(matrix, "ConnectivityLikelihood") == "Low"


def test_new_build_answers_no_premises_found_until_the_database_catches_up(bench: Bench) -> None:
    before = bench.ask(post_code="GU1 9NB", address_identifier="Plot 2")
    assert field(before, "CSPRegion") == "Unknown"
    assert before.findtext("sr:Request/sr:PartialAddress/sr:PostCode", namespaces=NS) == "GU1 9NB"
    bench.clock.advance(days=21)  # released 2020-02-10 + 42-day lag = 2020-03-23
    after = bench.ask(post_code="GU1 9NB", address_identifier="Plot 2")
    assert field(after, "CSPRegion") != "Unknown"
    assert field(after, "CSPRegion") == "South" and field(after, "CoverageAvailability") == "true"


def test_unknown_uprn_is_no_premises_found(bench: Bench) -> None:
    assert field(bench.ask(uprn="100061900004"), "CSPRegion") == "Unknown"
