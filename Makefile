# smets2-harness: `make bench` runs the bench on the emulated rig; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: bench test bench-perf tshark chromium clean

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

# Headless Chromium renders the HTML report in tests/test_evidence_report_browser.py (Debian package, pinned).
CHROMIUM_VERSION := 156.0.8078.114-1~deb12u1
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium $(CHROMIUM_VERSION) (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium=$(CHROMIUM_VERSION) >/dev/null || echo "chromium install failed"; \
	else echo "chromium not installed and cannot install it here (not root or no apt-get)"; fi

test: $(STAMP) tshark chromium
	$(PY) -m pytest -q --junitxml=reports/junit.xml

bench: $(STAMP)
	$(VENV)/bin/smets2-harness run --rig rigs/emulated.yaml

bench-perf: $(STAMP)
	$(PY) -m harness.bench.perf

clean:
	rm -rf $(VENV) reports .pytest_cache
