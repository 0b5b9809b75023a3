# smets2-harness: `make bench` runs the bench on the emulated rigs (both topologies); `make test` runs every test.
PYTHON ?=  # empty: harness/interpreter.py picks (python3, or a faster build of its version beside it; prints why)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: bench test bench-perf bench-perf-fleet bench-perf-instructions valgrind tshark herdsman openssl dcc-tools java chromium tmux clean

$(STAMP): pyproject.toml
	test -x $(PY) || { py="$(PYTHON)"; [ -n "$$py" ] || py="$$(python3 harness/interpreter.py --pick)" || exit 1; \
	  "$$py" -m venv $(VENV); }
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

# zigbee-herdsman (the EZSP host under Zigbee2MQTT) is the second, independent host of the emulated NCP's
# interop tests (tests/interop/). Pinned exactly, with its whole tree, by tests/interop/package-lock.json;
# `npm ci` installs it once into .cache/herdsman/ (the stamp makes a second run instant).
HERDSMAN_DIR := .cache/herdsman
herdsman: $(HERDSMAN_DIR)/.installed
$(HERDSMAN_DIR)/.installed: tests/interop/package.json tests/interop/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(HERDSMAN_DIR) && cp tests/interop/package.json tests/interop/package-lock.json $(HERDSMAN_DIR)/ && \
	  npm ci --prefix $(HERDSMAN_DIR) --no-audit --no-fund --silent && touch $@; \
	else echo "npm not installed: the zigbee-herdsman interop tests will skip (fail under SMETS2_REQUIRE_HERDSMAN=1)"; fi

# tmux gives the terminal-operator test a real terminal to run `smets2-harness run` in (send-keys answers).
tmux:
	@if command -v tmux >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing tmux (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null || echo "tmux install failed"; \
	else echo "tmux not installed and cannot install it here (not root or no apt-get)"; fi

# Headless Chromium renders the HTML report in tests/test_evidence_report_browser.py (Debian package, pinned to a
# major series). Debian's security archive replaces a Chromium build within weeks and drops the old one, so an exact
# pin stops installing; we take the newest build of the pinned series, and if the series itself is gone, the
# archive's candidate, saying so (the browser test prints the version it rendered with).
CHROMIUM_SERIES := 156.0.8078
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	  v=$$(apt-cache madison chromium | awk -F'|' '{gsub(/ /,"",$$2); print $$2}' | grep -F '$(CHROMIUM_SERIES).' | head -n1); \
	  if [ -n "$$v" ]; then echo "installing chromium $$v (apt-get, series $(CHROMIUM_SERIES))"; spec="chromium=$$v"; \
	  else echo "chromium series $(CHROMIUM_SERIES) is no longer in the archive: installing its candidate"; spec=chromium; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$$spec" >/dev/null || echo "chromium install failed"; \
	else echo "chromium not installed and cannot install it here (not root or no apt-get)"; fi

# -n 2: the suite runs in two pytest-xdist workers (no shared ports, files or bundle folders; tests/fleet,
# docs/performance.md). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

# The DCC's published tools, pinned, as test oracles (tests/dcc_tools/oracle.py): the DUIS schema and test signing
# keys inside @smartdcc/duis-sign-wrap's tool.jar, the RTDS request templates, the DCC Boxed test keystore. Fetched
# with `npm pack` (the packages themselves, no dependency tree) into the git-ignored .cache/dcc-tools/.
DCC_TOOLS := .cache/dcc-tools
DCC_NPM   := @smartdcc/duis-sign-wrap@0.1.2 @smartdcc/duis-templates@0.7.0 @smartdcc/dccboxed-keystore@0.4.2
dcc-tools: $(DCC_TOOLS)/.installed
$(DCC_TOOLS)/.installed: $(STAMP)
	@if ! command -v npm >/dev/null 2>&1; then echo "npm not installed: DCC-tool tests will skip"; exit 0; fi; \
	mkdir -p $(DCC_TOOLS) && cd $(DCC_TOOLS) && \
	for p in $(DCC_NPM); do npm pack --silent "$$p" >/dev/null || exit 1; done && \
	for f in smartdcc-*.tgz; do d=$${f%.tgz}; rm -rf "$$d"; mkdir -p "$$d" && tar xzf "$$f" -C "$$d" || exit 1; done && \
	rm -rf tool-jar && ../../$(PY) -m zipfile -e smartdcc-duis-sign-wrap-0.1.2/package/dist/tool.jar tool-jar && \
	touch .installed

# A Java runtime runs the DCC's signing tool itself (tool.jar: Sign/Validate) in tests/dcc_tools/test_duis_signing.py.
java:
	@if command -v java >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing a Java runtime (apt-get default-jre-headless)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null || echo "java install failed"; \
	else echo "java not installed and cannot install it here (not root or no apt-get)"; fi

# The OpenSSL CLI is the independent oracle for sect283k1 (CBKE suite 2) in tests/zigbee/test_cbke_openssl.py.
openssl:
	@if command -v openssl >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing openssl (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null || echo "openssl install failed"; \
	else echo "openssl not installed and cannot install it here (not root or no apt-get)"; fi

test: $(STAMP) tshark herdsman openssl dcc-tools java chromium tmux
	$(PY) -m pytest -q -n $(TEST_WORKERS) --junitxml=reports/junit.xml
	# topology 2 (hub under test): its scenarios run on the hub-DUT rig (the run above deselects them)
	$(PY) -m pytest -q harness/scenarios/hub_dut --rig rigs/hub-dut-emulated.yaml --junitxml=reports/junit-hub-dut.xml

# Both bench topologies: harness as hub, then hub under test; fails if either does.
bench: $(STAMP)
	@rc=0; \
	$(VENV)/bin/smets2-harness run --rig rigs/emulated.yaml || rc=1; \
	$(VENV)/bin/smets2-harness run --rig rigs/hub-dut-emulated.yaml || rc=1; \
	exit $$rc

bench-perf: $(STAMP)
	$(PY) -m harness.bench.perf

# Fleet throughput alone (premises/s against the 33/s target, memory per premises, ratio to the domain-only path).
bench-perf-fleet: $(STAMP)
	$(PY) -m harness.bench.perf_fleet

# A fleet premises in CPU instructions (callgrind), which do not move with the machine's speed, and the speed per
# core the 33/s target needs at that count (harness/bench/perf_instructions.py; about 5 minutes under valgrind).
bench-perf-instructions: $(STAMP) valgrind
	$(PY) -m harness.bench.perf_instructions

valgrind:
	@if command -v valgrind >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing valgrind (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null || { echo "valgrind install failed"; exit 1; }; \
	else echo "valgrind is needed: install it (e.g. sudo apt-get install valgrind) or run make as root"; exit 1; fi

clean:
	rm -rf $(VENV) reports .pytest_cache
