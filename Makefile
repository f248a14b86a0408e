# Two commands do all the set-up on a fresh machine with Python 3.10+:
#   make demo   — create .venv, install, validate the demo pack, screen the sample sites
#   make test   — create .venv, install, run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WEB    := .cache/web
PYTEST_ARGS ?=

.PHONY: install demo test bench bench-batch bench-eligibility demo-pack packs clean web sysdeps serve assets qgis-plugin

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: install sysdeps assets
	$(BIN)/zoning validate data/packs/huzhou-demo
	$(BIN)/zoning demo --out demo-out

test: install web assets
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Debian packages the maps and reports need: a CJK font (Chinese in PDFs and static maps),
# pango for WeasyPrint (PDF), poppler-utils (pdftoppm/pdftotext in the PDF test).
MAP_PKGS := fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 poppler-utils

# Debian packages the service's tests use: npm (to fetch Leaflet) and headless Chromium
# (the page test; never `playwright install`). apt-get runs only when something is missing.
sysdeps:
	@missing=""; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	dpkg -s chromium chromium-driver >/dev/null 2>&1 || missing="$$missing chromium chromium-driver"; \
	for p in $(MAP_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "warning: not installed:$$missing — the page test will be skipped"; fi; \
	fi

# Leaflet + leaflet-draw for the service's page and Swagger UI for its /docs, from the npm
# registry (not committed), served by `zoning serve` from $(WEB)/node_modules so that both work
# offline. The stamp names the Swagger UI version: changing the pin installs again.
SWAGGER_UI := 5.36.0
WEB_PKGS   := leaflet@1.9 leaflet-draw@1.0 swagger-ui-dist@$(SWAGGER_UI)
web: sysdeps $(WEB)/node_modules/swagger-ui-dist/.zoning-$(SWAGGER_UI)

$(WEB)/node_modules/swagger-ui-dist/.zoning-$(SWAGGER_UI):
	npm install --silent --no-audit --no-fund --prefix $(WEB) $(WEB_PKGS)
	@test -f $(WEB)/node_modules/leaflet-draw/dist/leaflet.draw.js
	@touch $@

# Local copies of Leaflet and Leaflet.Search (the versions folium links to) that --offline maps
# and reports inline, from the npm registry; not committed.
ASSETS     := .cache/assets
ASSET_PKGS := leaflet@1.9.3 leaflet-search@2.9.7
assets: sysdeps $(ASSETS)/.installed

$(ASSETS)/.installed:
	npm install --silent --no-audit --no-fund --no-save --prefix $(ASSETS) $(ASSET_PKGS)
	@touch $@

# The HTTP service on http://127.0.0.1:8000 (the page for enterprises at /).
serve: install web
	$(BIN)/zoning serve

bench: install
	$(BIN)/python bench/screen.py
	$(BIN)/python bench/topology.py
	@echo "province-scale bulk benchmark (generates ~120 MB of synthetic data under .cache/bench on first run): make bench-batch"

# Bulk screening on a synthetic Zhejiang-sized pack (bench/make_province.py), generated
# under .cache/bench/ when missing (never committed). BENCH_ARGS e.g. "--sites 5000 --big 20000".
BENCH       := .cache/bench
BENCH_PACK  := $(BENCH)/province
BENCH_SITES := $(BENCH)/sites_100k.parquet
BENCH_ARGS  ?=

bench-batch: install $(BENCH_PACK)/pack.yaml $(BENCH_SITES)
	$(BIN)/python bench/batch.py --pack $(BENCH_PACK) --sites-file $(BENCH_SITES) $(BENCH_ARGS)

# Eligibility maps (issue 9): demo pack and the province pack, three projects, time and peak RSS.
bench-eligibility: install $(BENCH_PACK)/pack.yaml
	$(BIN)/python bench/eligibility.py --pack $(BENCH_PACK) --check 200 $(BENCH_ARGS)

$(BENCH_PACK)/pack.yaml: bench/make_province.py
	$(BIN)/python bench/make_province.py $(BENCH_PACK)

$(BENCH_SITES): $(BENCH_PACK)/pack.yaml
	$(BIN)/python bench/make_province.py sites --pack $(BENCH_PACK) -n 100000 -o $@

# Rebuild the embedded demo pack from its sources (needs the build-demo extras).
demo-pack: install
	$(BIN)/python -m pip install --quiet -e ".[build-demo]"
	$(BIN)/python scripts/build_demo_pack.py

# Rebuild the small test packs under tests/data/packs.
packs: install
	$(BIN)/python tests/data/make_packs.py

# The QGIS Processing plugin (qgis/zoning_qgis) as a zip for Plugins ▸ Install from ZIP.
qgis-plugin: dist/zoning_qgis.zip

dist/zoning_qgis.zip: $(wildcard qgis/zoning_qgis/*)
	@mkdir -p dist
	rm -f $@
	cd qgis && $(PYTHON) -c "import sys, zipfile, pathlib; z = zipfile.ZipFile('../$@', 'w', zipfile.ZIP_DEFLATED); [z.write(p, p.as_posix()) for p in sorted(pathlib.Path('zoning_qgis').rglob('*')) if p.is_file() and '__pycache__' not in p.parts]; z.close()"
	@echo "built $@ (QGIS: Plugins ▸ Manage and Install Plugins ▸ Install from ZIP)"

clean:
	rm -rf $(VENV) demo-out .pytest_cache
