"""Benchmark (not a test): CPU time of one whole CBKE crypto exchange, both sides (suite 2, sect283k1).

    .venv/bin/python -m harness.bench.perf_cbke [--runs 20]

Each run is what initiator and responder compute in a real exchange: each generates an ephemeral key, then each
calculates the SMACs from the other's certificate and ephemeral key (point decompression and order-n checks,
ECQV folded into ECMQV, KDF, MACU/MACV), and each checks the other's MAC. Certificates come from a test CA.
Reports the median process CPU time (time.process_time), so a loaded machine inflates it less than wall time;
the goal is well under 100 ms per exchange. The first run also pays the one-off tables (generator, solver).
Both curve backends are measured (harness/zigbee/cbke/curve.py: pure Python, and libcrypto where it loads), with
the ratio between them; the goal applies to the one a run uses by default.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from harness.zigbee.cbke import curve
from harness.zigbee.cbke.certificate import CertificateAuthority
from harness.zigbee.cbke.engine import CbkeEngine

GOAL_MS = 100.0


def one_exchange(initiator: CbkeEngine, responder: CbkeEngine) -> None:
    qeu = initiator.generate_ephemeral()
    qev = responder.generate_ephemeral()
    u = initiator.calculate_smacs(True, responder.certificate, qev)
    v = responder.calculate_smacs(False, initiator.certificate, qeu)
    if u != v:
        raise AssertionError("the two sides disagree on the SMACs")
    initiator.clear_temporary_data(True)
    responder.clear_temporary_data(True)


def measure(runs: int) -> dict[str, float]:
    ca = CertificateAuthority.generate()
    t0 = time.process_time()
    meter = CbkeEngine(ca.issue(bytes.fromhex("0A0B0C0D0E0F1012"), valid_from=0))
    hub = CbkeEngine(ca.issue(bytes.fromhex("0A0B0C0D0E0F1011"), valid_from=0))
    issue_ms = (time.process_time() - t0) * 500
    first = time.process_time()
    one_exchange(meter, hub)
    first_ms = (time.process_time() - first) * 1000
    samples = []
    for _ in range(runs):
        t = time.process_time()
        one_exchange(meter, hub)
        samples.append((time.process_time() - t) * 1000)
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "first": first_ms,
            "issue": issue_ms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    default = curve.backend_name()
    results: dict[str, dict[str, float]] = {}
    for name in ("python", "libcrypto"):
        try:
            chosen = curve.set_backend(name)
        except curve.BackendError as exc:
            print(f"CBKE curve backend {name}: not measured ({exc})")
            continue
        results[chosen] = measure(args.runs)
    curve.set_backend("auto")
    print(f"CBKE suite 2 (sect283k1), both sides, {args.runs} exchanges, CPU time:")
    for name, r in results.items():
        mark = "  (the default)" if name == default else ""
        print(f"  backend {name}{mark}")
        print(f"    one exchange, median             {r['median']:6.1f} ms  ({r['median'] / GOAL_MS:.2f} of the "
              f"{GOAL_MS:.0f} ms goal)")
        print(f"    one exchange, min / max          {r['min']:6.1f} / {r['max']:.1f} ms")
        print(f"    first exchange (one-off tables)  {r['first']:6.1f} ms")
        print(f"    issue one certificate (test CA)  {r['issue']:6.1f} ms")
    if len(results) == 2:
        slow, fast = (r["median"] for r in results.values())
        print(f"  python / libcrypto: {slow / fast:.1f}x per exchange")
    return 0 if results[default]["median"] < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
