"""`make bench-perf`: every benchmark the project ships, one after another (none of them is a test)."""

from __future__ import annotations

import sys

from harness.bench import perf_cbke, perf_cos, perf_fleet, perf_han, perf_hub_join, perf_join, perf_ncp


def main() -> int:
    status = 0
    for title, bench_main in (("EZSP link (emulated NCP)", perf_ncp.main), ("permit -> join", perf_join.main),
                              ("DP121 CoS scenario", perf_cos.main),
                              ("hub under test: 8.11 -> stick joined", perf_hub_join.main),
                              ("CBKE crypto (suite 2)", perf_cbke.main),
                              ("HAN of many meters (one coordinator)", perf_han.main),
                              ("fleet: premises/s, full bellows path vs domain only", perf_fleet.main)):
        print(f"\n== {title} ==", flush=True)
        status |= bench_main([])
    return status


if __name__ == "__main__":
    sys.exit(main())
