# One-command set-up: `make run` serves the app, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8050
WORKERS ?= auto
THREADS ?= 16
AXE    := tests/axe/node_modules/.installed

.PHONY: run test test-fast bench clean serve load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# axe-core for the accessibility tests (Node and npm), at the version tests/axe/package-lock.json
# pins; npm ci runs again only when that file changes (npm dates the files it unpacks in 1985, so
# the stamp is a file of our own)
$(AXE): tests/axe/package.json tests/axe/package-lock.json
	npm ci --prefix tests/axe --no-audit --no-fund --loglevel=error
	touch $@

run: $(VENV)/.runtime
	$(BIN)/python app.py --host $(HOST) --port $(PORT)

test: $(VENV)/.dev $(AXE)
	$(BIN)/python -m pytest

# Everything but the real-browser and real-server tests.
test-fast: $(VENV)/.dev
	$(BIN)/python -m pytest -m "not browser" --ignore=tests/test_wsgi_server.py --ignore=tests/test_fuzz_callbacks.py

# A class (Linux, macOS): gunicorn with gunicorn.conf.py, WORKERS processes (default one per core)
# × THREADS threads; HOST=0.0.0.0 lets the students' laptops in. Windows: python wsgi.py (waitress).
# See README, "Serving a class".
serve: $(VENV)/.runtime
	HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) THREADS=$(THREADS) $(BIN)/python -m gunicorn -c gunicorn.conf.py

# 40 simulated students against that server (gunicorn.conf.py) on 127.0.0.1 (steady, then burst).
load: $(VENV)/.dev
	$(BIN)/python -m benchmarks.load_test --students 40 --changes 50

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks.bench_engine
	$(BIN)/python -m benchmarks.bench_data
	$(BIN)/python -m benchmarks.bench_schedules
	$(BIN)/python -m benchmarks.bench_momentum_map
	$(BIN)/python -m benchmarks.bench_formula
	$(BIN)/python -m benchmarks.bench_browser
	$(BIN)/python -m benchmarks.bench_startup

clean:
	rm -rf $(VENV)
