# smets2-harness: `make bench` runs the bench on the emulated rig; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: bench test bench-perf bench-perf-fleet tshark clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# tshark is the independent decoder for the wire-layer tests. Install it when we can (root + apt-get);
# otherwise those tests skip and say why.
tshark:
	@if command -v tshark >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing tshark (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null || echo "tshark install failed"; \
	else echo "tshark not installed and cannot install it here (not root or no apt-get)"; fi

# -n 2: the suite runs in two pytest-xdist workers (no shared ports, files or bundle folders; tests/fleet,
# docs/performance.md). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: $(STAMP) tshark
	$(PY) -m pytest -q -n $(TEST_WORKERS) --junitxml=reports/junit.xml

bench: $(STAMP)
	$(VENV)/bin/smets2-harness run --rig rigs/emulated.yaml

bench-perf: $(STAMP)
	$(PY) -m harness.bench.perf

# Fleet throughput alone (premises/s against the 33/s target, memory per premises, ratio to the domain-only path).
bench-perf-fleet: $(STAMP)
	$(PY) -m harness.bench.perf_fleet

clean:
	rm -rf $(VENV) reports .pytest_cache
