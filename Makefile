# smets2-harness: `make bench` runs the bench on the emulated rig; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: bench test bench-perf tshark tmux clean

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

# tmux gives the terminal-operator test a real terminal to run `smets2-harness run` in (send-keys answers).
tmux:
	@if command -v tmux >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing tmux (apt-get)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null || echo "tmux install failed"; \
	else echo "tmux not installed and cannot install it here (not root or no apt-get)"; fi

test: $(STAMP) tshark tmux
	$(PY) -m pytest -q --junitxml=reports/junit.xml

bench: $(STAMP)
	$(VENV)/bin/smets2-harness run --rig rigs/emulated.yaml

bench-perf: $(STAMP)
	$(PY) -m harness.bench.perf

clean:
	rm -rf $(VENV) reports .pytest_cache
