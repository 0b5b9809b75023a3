"""Suite-wide test configuration."""

from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester"]

# The property tests assert outcomes, not speed. Hypothesis' default 200 ms per-example deadline and its "too slow"
# health check fail on a loaded 2-core CI machine for reasons unrelated to the code (timing goals live in
# `make bench-perf`), so neither applies here.
settings.register_profile("smets2", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("smets2")
