# Two commands do all set-up on a fresh machine:
#   make demo   installs into .venv, applies the bundled demo models to the bundled samples
#   make test   installs into .venv, runs the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_ALBUMENTATIONS_UPDATE := 1

.PHONY: demo test install bench clean

$(STAMP): requirements.txt requirements-dev.txt requirements-people.txt requirements-serve.txt setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# The people extra (MediaPipe, offline models) and the two fixes it needs: see requirements-people.txt
	$(BIN)/python -m pip install --quiet -r requirements-people.txt
	# The serve extra (translate serve, its browser tests): Gradio + Playwright, see requirements-serve.txt
	$(BIN)/python -m pip install --quiet -r requirements-serve.txt
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall opencv-python-headless==4.11.0.86
	$(BIN)/python -m pip install --quiet "protobuf>=6.31.1,<7"
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python tools/demo.py --out demo_out
	# two short training runs, so `translate serve` has curves and metrics to show
	$(BIN)/python tools/demo_runs.py

test: $(STAMP)
	# Debian's Chromium for the browser tests of translate serve (apt-get, only when absent)
	bash tools/ensure_chromium.sh
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python tools/bench_train.py
	$(BIN)/python tools/bench_apply.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
