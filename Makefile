# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   — create .venv, install, validate the demo pack, screen the sample sites
#   make test   — create .venv, install, run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo test bench demo-pack packs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: install
	$(BIN)/zoning validate data/packs/huzhou-demo
	$(BIN)/zoning demo --out demo-out

test: install
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/screen.py

# Rebuild the embedded demo pack from its sources (needs the build-demo extras).
demo-pack: install
	$(BIN)/python -m pip install --quiet -e ".[build-demo]"
	$(BIN)/python scripts/build_demo_pack.py

# Rebuild the small test packs under tests/data/packs.
packs: install
	$(BIN)/python tests/data/make_packs.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
