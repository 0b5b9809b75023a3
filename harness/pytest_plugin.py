"""pytest plugin (entry point `pytest11`): `--rig`, `--report-dir`, the `sec` marker and the bench fixtures.

Every test that uses the bench gets an evidence bundle under the run's report directory, written pass or fail,
and closed in teardown even when the test crashes. The run's JUnit XML and HTML report sit beside the bundles.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from harness.evidence.bundle import EvidenceBundle
from harness.evidence.record import base_provenance
from harness.evidence.report import format_table, load_rows, write_report
from harness.rig import Rig, load_rig

_OUTCOME_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
_TEARDOWN_ERROR_KEY = pytest.StashKey[str]()  # the bench failed to stop cleanly (e.g. the emulator saw a bug)
_RUN_DIR_KEY = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smets2-harness")
    group.addoption("--rig", default="rigs/emulated.yaml", help="rig file to run the bench on (default: %(default)s)")
    group.addoption("--report-dir", default="reports",
                    help="where each run's evidence bundles, JUnit XML and report go (default: %(default)s)")
    group.addoption("--run-dir", default=None,
                    help="exact folder for this run's evidence (default: a new run-<time> folder in --report-dir)")
    group.addoption("--no-bench-summary", action="store_true", default=False,
                    help="don't print the bench summary table (smets2-harness run prints its own)")
    group.addoption("--reveal-secrets", action="store_true", default=False,
                    help="write install codes and link keys to the evidence in clear (default: redacted)")
    group.addoption("--operator", default=None, metavar="CHANNEL",
                    help="where operator prompts go: auto, terminal, file:PATH, web[:PORT], emulated:tcp://HOST:PORT "
                         "(default: the rig's `operator:`, else auto; docs/bench.md)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sec(ref, ...): the SEC clause or modification this test proves (recorded in the results)"
    )


def run_dir(config: pytest.Config) -> Path:
    """The run's report folder, made on first use so unit-test runs leave no empty reports."""
    if _RUN_DIR_KEY not in config.stash and config.getoption("--run-dir"):
        exact = Path(config.getoption("--run-dir"))
        exact.mkdir(parents=True, exist_ok=True)
        config.stash[_RUN_DIR_KEY] = exact
    if _RUN_DIR_KEY not in config.stash:
        root = Path(config.getoption("--report-dir"))
        path = root / time.strftime("run-%Y%m%d-%H%M%S")
        n = 1
        while path.exists():
            n += 1
            path = root / f"{time.strftime('run-%Y%m%d-%H%M%S')}-{n}"
        path.mkdir(parents=True)
        config.stash[_RUN_DIR_KEY] = path
    return config.stash[_RUN_DIR_KEY]


def sec_refs(item: pytest.Item) -> list[str]:
    refs: list[str] = []
    for mark in item.iter_markers("sec"):
        refs.append(" ".join(str(a) for a in mark.args))
    return list(reversed(refs))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    item.stash.setdefault(_OUTCOME_KEY, {})[report.when] = report
    if report.when == "call":
        for ref in sec_refs(item):
            report.user_properties.append(("sec", ref))


def _verdict(item: pytest.Item) -> tuple[str, str]:
    reports = item.stash.get(_OUTCOME_KEY, {})
    for phase in ("setup", "call"):
        rep = reports.get(phase)
        if rep is None:
            continue
        if rep.failed:
            return ("failed" if phase == "call" else "error", str(rep.longrepr)[-4000:])
        if rep.skipped:
            return ("skipped", str(rep.longrepr)[-500:])
    return ("passed", "") if "call" in reports else ("error", "the test did not run to completion")


@pytest.fixture(scope="session")
def rig(pytestconfig: pytest.Config) -> Rig:
    """The rig under test, from --rig, pre-flighted (install codes, files, ports): problems stop the session."""
    from harness.bench.preflight import rig_problems

    loaded = load_rig(pytestconfig.getoption("--rig"))
    problems = rig_problems(loaded)
    if problems:
        pytest.exit("\n".join(["rig pre-flight failed:", *problems]), returncode=2)
    return loaded


@pytest.fixture(scope="session")
def bench_operator(pytestconfig: pytest.Config, rig: Rig) -> Iterator[Any]:
    """The operator for real devices' prompts (None on an all-emulated rig without --operator)."""
    from harness.drivers.operator import make_operator, parse_operator_channel

    spec = pytestconfig.getoption("--operator") or rig.operator
    if spec is None and rig.is_emulated:
        yield None
        return
    operator = make_operator(parse_operator_channel(spec or "auto"))
    yield operator
    if hasattr(operator, "close"):
        operator.close()


@pytest.fixture
def evidence(request: pytest.FixtureRequest, rig: Rig) -> Iterator[EvidenceBundle]:
    """This test's evidence bundle. Closed in teardown with the test's verdict, whatever happened."""
    item = request.node
    bundle = EvidenceBundle(run_dir(request.config), item.nodeid, sec_refs=sec_refs(item),
                            reveal_secrets=request.config.getoption("--reveal-secrets"))
    bundle.record.provenance["rig"] = rig.path
    bundle.timeline.record("test.start", test=item.nodeid, rig=rig.name, sec=sec_refs(item))
    yield bundle
    # Fixtures built on this one (the bench) are torn down by now and the call report exists: the verdict is final.
    outcome, message = _verdict(item)
    if outcome == "passed" and _TEARDOWN_ERROR_KEY in item.stash:
        outcome, message = "error", item.stash[_TEARDOWN_ERROR_KEY]
    bundle.close(outcome, message)


@pytest_asyncio.fixture
async def bench(rig: Rig, evidence: EvidenceBundle, request: pytest.FixtureRequest,
                bench_operator: Any) -> AsyncIterator[Any]:
    """The rig's roles wired together (harness as hub): DCC, hub, coordinator, meters, WAN, suppliers, clock."""
    from harness.bench.bench import Bench

    b = await Bench.start(rig, evidence, operator=bench_operator)
    try:
        yield b
    finally:
        try:
            await b.stop()
        except Exception as exc:  # the evidence record must not say "passed" when pytest reports an error
            request.node.stash[_TEARDOWN_ERROR_KEY] = f"stopping the bench failed: {type(exc).__name__}: {exc}"
            raise


@pytest.fixture
def clock(bench: Any) -> Any:
    return bench.clock


@pytest.fixture
def dcc(bench: Any) -> Any:
    return bench.dcc


@pytest.fixture
def hub(bench: Any) -> Any:
    return bench.hub


@pytest.fixture
def wan(bench: Any) -> Any:
    return bench.wan


@pytest.fixture
def esme(bench: Any) -> Any:
    return bench.device("esme")


@pytest.fixture
def gsme(bench: Any) -> Any:
    return bench.device("gsme")


@pytest.fixture
def ihd(bench: Any) -> Any:
    return bench.device("ihd")


@pytest.fixture
def installing_supplier(bench: Any) -> Any:
    return bench.installing_supplier


@pytest.fixture
def gaining_supplier(bench: Any) -> Any:
    return bench.gaining_supplier


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _RUN_DIR_KEY not in config.stash:
        return
    path = config.stash[_RUN_DIR_KEY]
    rig_path = config.getoption("--rig")
    write_report(path, rig=rig_path, provenance=base_provenance())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _RUN_DIR_KEY not in config.stash or config.getoption("--no-bench-summary"):
        return
    path = config.stash[_RUN_DIR_KEY]
    rows = load_rows(path)
    if rows:
        terminalreporter.section("smets2-harness bench")
        terminalreporter.write_line(format_table(rows))
        terminalreporter.write_line(f"report: {path / 'report.html'}")
