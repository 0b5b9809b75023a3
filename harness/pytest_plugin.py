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

from harness.evidence.bundle import EvidenceBundle, safe_name
from harness.evidence.record import base_provenance
from harness.evidence.redaction import (SECRETS, install_log_redaction, redact_text, register_rig_secrets,
                                        remove_log_redaction)
from harness.evidence.runlog import COLLECTED, append_event, write_collected
from harness.rig import Rig, load_rig
from harness.rigs import EMULATED

_OUTCOME_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
_TEARDOWN_ERROR_KEY = pytest.StashKey[str]()  # the bench failed to stop cleanly (e.g. the emulator saw a bug)
_RUN_DIR_KEY = pytest.StashKey[Path]()
_RUNLOG_KEY = pytest.StashKey[bool]()  # this run keeps a run log (collected.json, results.jsonl, summary)
_FACTORY_KEY = pytest.StashKey[Any]()
RUN_DIR_WORKER_INPUT = "smets2_harness_run_dir"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smets2-harness")
    group.addoption("--rig", default=str(EMULATED),
                    help="rig file to run the bench on (default: the emulated rig shipped in the package)")
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
    config.addinivalue_line(
        "markers", "topology(name): the bench a scenario needs: harness-as-hub (default) or hub-under-test"
    )
    worker_input = getattr(config, "workerinput", None)
    if worker_input and worker_input.get(RUN_DIR_WORKER_INPUT):  # an xdist worker writes into the controller's run
        config.stash[_RUN_DIR_KEY] = Path(worker_input[RUN_DIR_WORKER_INPUT])
    if not config.getoption("--reveal-secrets"):
        # One redaction path: every log record is redacted when it is made, whatever handler takes it.
        config.stash[_FACTORY_KEY] = install_log_redaction()


def pytest_unconfigure(config: pytest.Config) -> None:
    factory = config.stash.get(_FACTORY_KEY, None)
    if factory is not None:
        remove_log_redaction(factory)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _secrets_from_rig(config: pytest.Config) -> None:
    try:
        register_rig_secrets(load_rig(config.getoption("--rig")))
    except Exception:  # noqa: BLE001 - a bad rig is reported by the `rig` fixture with its own message
        pass


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Before any test runs: the list of what this run will run, so a run killed part-way is still accounted for."""
    config = session.config
    _secrets_from_rig(config)
    explicit = bool(config.getoption("--run-dir"))
    uses_evidence = [item for item in session.items if "evidence" in getattr(item, "fixturenames", ())]
    if not explicit and not uses_evidence:
        return  # a unit-test run with no bench leaves no report folder
    tests = [{"nodeid": item.nodeid, "sec": sec_refs(item), "bundle": safe_name(item.nodeid),
              "evidence": "evidence" in getattr(item, "fixturenames", ())} for item in session.items]
    path = run_dir(config)
    config.stash[_RUNLOG_KEY] = True
    if tests or not _is_worker(config):
        write_collected(path, tests, all_tests=bool(config.getoption("--run-dir")))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller -> worker: one run folder for the whole run (called only under pytest-xdist). The workers
    make it if they collect a test that uses the evidence; the controller then keeps the run log in it."""
    node.workerinput[RUN_DIR_WORKER_INPUT] = str(_planned_run_dir(node.config))


def _runlog(config: pytest.Config) -> Path | None:
    """The run folder when this process keeps the run log: pytest itself, or the xdist controller."""
    if _is_worker(config):
        return None
    if config.getoption("--run-dir"):  # smets2-harness run: the log is kept from the first collection report on
        return run_dir(config)
    if _RUN_DIR_KEY not in config.stash:
        return None
    path = config.stash[_RUN_DIR_KEY]
    if config.stash.get(_RUNLOG_KEY, False) or (path / COLLECTED).exists():
        return path
    return None


class _RunLogWriter:
    """Appends pytest's events to results.jsonl as they come (registered on the controller / single process)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        path = _runlog(self.config)
        if path is not None:
            append_event(path, {"event": "start", "nodeid": nodeid})

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        path = _runlog(self.config)
        if path is not None and report.failed:  # a file that does not import is an error of the run, not nothing
            append_event(path, {"event": "report", "nodeid": report.nodeid or "<collection>", "when": "collect",
                                "outcome": "failed", "message": redact_text(str(report.longrepr))[-4000:]})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        path = _runlog(self.config)
        if path is None:
            return
        message = "" if report.passed else redact_text(_longrepr_text(report))[-4000:]
        append_event(path, {"event": "report", "nodeid": report.nodeid, "when": report.when,
                            "outcome": report.outcome, "duration": report.duration,
                            "wasxfail": getattr(report, "wasxfail", None), "message": message})


def _longrepr_text(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if longrepr is None:
        return ""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        return str(longrepr[2])
    return str(longrepr)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.pluginmanager.register(_RunLogWriter(session.config), "smets2-harness-runlog")


def _planned_run_dir(config: pytest.Config) -> Path:
    """The run's report folder (not made yet): --run-dir, or a new run-<time> folder in --report-dir."""
    if _RUN_DIR_KEY not in config.stash:
        if config.getoption("--run-dir"):
            config.stash[_RUN_DIR_KEY] = Path(config.getoption("--run-dir"))
        else:
            root = Path(config.getoption("--report-dir"))
            path = root / time.strftime("run-%Y%m%d-%H%M%S")
            n = 1
            while path.exists():
                n += 1
                path = root / f"{time.strftime('run-%Y%m%d-%H%M%S')}-{n}"
            config.stash[_RUN_DIR_KEY] = path
    return config.stash[_RUN_DIR_KEY]



def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run each scenario only on a rig of its topology (the other bench's scenarios are deselected, and said so)."""
    from harness.bench.topology import deselect_other_topology

    deselect_other_topology(config, items)


def run_dir(config: pytest.Config) -> Path:
    """The run's report folder, made on first use so unit-test runs leave no empty reports."""
    path = _planned_run_dir(config)
    path.mkdir(parents=True, exist_ok=True)
    return path


def sec_refs(item: pytest.Item) -> list[str]:
    refs: list[str] = []
    for mark in item.iter_markers("sec"):
        refs.append(" ".join(str(a) for a in mark.args))
    return list(reversed(refs))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not item.config.getoption("--reveal-secrets"):
        _redact_report(report)
    item.stash.setdefault(_OUTCOME_KEY, {})[report.when] = report
    if report.when == "call":
        for ref in sec_refs(item):
            report.user_properties.append(("sec", ref))


def _redact_report(report: pytest.TestReport) -> None:
    """The failure text and captured output, before the terminal, JUnit or xdist see them."""
    if report.longrepr is not None and not (isinstance(report.longrepr, tuple)):
        text = str(report.longrepr)
        cleaned = redact_text(text)
        if cleaned != text:
            report.longrepr = cleaned
    report.sections = [(title, redact_text(content)) for title, content in report.sections]


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout's thread method ends the process with os._exit: say "timed out" in the run log first."""
    if getattr(settings, "method", None) != "thread" or not settings.timeout:
        return None
    import threading

    import pytest_timeout

    path = item.config.stash.get(_RUN_DIR_KEY, None)
    path = path if path is not None and (path / COLLECTED).exists() else None

    def expire() -> None:
        if path is not None:
            append_event(path, {"event": "timeout", "nodeid": item.nodeid, "timeout": settings.timeout})
        pytest_timeout.timeout_timer(item, settings)  # dumps the stacks, then os._exit(1)

    timer = threading.Timer(settings.timeout, expire)
    timer.name = f"smets2-harness timeout {item.nodeid}"
    timer.daemon = True

    def cancel() -> None:
        timer.cancel()
        timer.join()

    item.cancel_timeout = cancel  # type: ignore[attr-defined]  # pytest-timeout's cancel hook calls this
    timer.start()
    return True


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
    register_rig_secrets(loaded)
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
    bundle.record.topology = rig.topology
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
    """The rig's roles wired together, for the topology the rig names (harness/bench/topology.py): harness as
    hub (Bench) or hub under test (HubDutBench)."""
    from harness.bench.topology import bench_class

    cls = bench_class(rig)
    b = await (cls.start(rig, evidence, operator=bench_operator) if rig.topology == "harness-as-hub"
               else cls.start(rig, evidence))
    _register_network_secrets(b)
    try:
        yield b
    finally:
        try:
            await b.stop()
        except Exception as exc:  # the evidence record must not say "passed" when pytest reports an error
            request.node.stash[_TEARDOWN_ERROR_KEY] = f"stopping the bench failed: {type(exc).__name__}: {exc}"
            raise


def _register_network_secrets(bench: Any) -> None:
    """The keys the coordinator formed with (network key, TC link key) are secrets too."""
    try:
        info = bench.coordinator.app.state.network_info
    except AttributeError:
        return
    for attr, label in (("network_key", "network key"), ("tc_link_key", "TC link key")):
        key = getattr(getattr(info, attr, None), "key", None)
        if key is not None:
            SECRETS.add(bytes(key), label)


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
    from harness.evidence.summary import write_summary

    config = session.config
    path = _runlog(config)
    if path is None:
        return
    append_event(path, {"event": "session.finish", "nodeid": "", "exitstatus": int(exitstatus)})
    write_summary(path, rig=config.getoption("--rig"), provenance=base_provenance())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    from harness.bench.topology import report_deselected
    from harness.evidence.report import format_table, han_summary
    from harness.evidence.summary import collect_results, verdict_line

    report_deselected(terminalreporter, config)
    path = _runlog(config)
    if path is None or config.getoption("--no-bench-summary"):
        return
    results = [r for r in collect_results(path) if r.scenario_test]
    if results:
        terminalreporter.section("smets2-harness bench")
        terminalreporter.write_line(format_table(path, results))
        joins = han_summary(path, results)
        if joins:
            terminalreporter.write_line(joins)
        terminalreporter.write_line(f"{verdict_line(results)}; report: {path / 'report.html'}")
