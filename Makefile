# smets2-harness: `make bench` runs the bench on the emulated rig; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: bench test bench-perf tshark dcc-tools clean

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

test: $(STAMP) tshark dcc-tools
	$(PY) -m pytest -q --junitxml=reports/junit.xml

bench: $(STAMP)
	$(VENV)/bin/smets2-harness run --rig rigs/emulated.yaml

bench-perf: $(STAMP)
	$(PY) -m harness.bench.perf

clean:
	rm -rf $(VENV) reports .pytest_cache
