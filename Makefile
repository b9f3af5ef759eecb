# Two entry points: `make demo` and `make test`. Both install what they need first and are safe to re-run.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
APT_PACKAGES := ngspice libngspice0-dev dataset-fashion-mnist
DEMO_DIR ?= demo-output
PYTEST_ARGS ?= -m "not slow"

WHEEL_TEST_DIR ?= build/wheel-test

.PHONY: install system-deps python-deps demo lint test test-all wheel-test bench clean

install: system-deps python-deps

# Debian packages: only touched when one is missing, so re-runs are quick and offline-safe.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# torch==2.13.0 is served from local disk on this machine kind (CPU build); it is an extra, not a core need.
python-deps:
	$(PIP) install -q --disable-pip-version-check -e '.[test,dask]'
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install -q --disable-pip-version-check 'torch==2.13.0' \
		|| echo "note: PyTorch extra not installed; torch-dependent features and tests are skipped"

demo: install
	$(PYTHON) -m devicelab.demo --output $(DEMO_DIR)

# ruff (lint + import order) and mypy, configured in pyproject.toml; `make test` runs them first.
lint: install
	$(PYTHON) -m ruff check devicelab tests benchmarks
	$(PYTHON) -m mypy

test: install lint
	$(PYTHON) -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory wheel-test

# A plain, non-editable install works (package data such as circuits/*.lib included): build a wheel, install it
# into a fresh venv (system site-packages only for the dependencies; the check below fails if devicelab or its
# circuit library would come from anywhere but the venv) and run one ngspice command from it. About 30 s.
wheel-test:
	rm -rf $(WHEEL_TEST_DIR) build/lib build/bdist.* && mkdir -p $(WHEEL_TEST_DIR)
	$(PIP) wheel -q --disable-pip-version-check --no-deps --no-build-isolation -w $(WHEEL_TEST_DIR)/dist . \
		|| $(PIP) wheel -q --disable-pip-version-check --no-deps -w $(WHEEL_TEST_DIR)/dist .
	$(PYTHON) -m venv --system-site-packages $(WHEEL_TEST_DIR)/venv
	$(WHEEL_TEST_DIR)/venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-index \
		$(WHEEL_TEST_DIR)/dist/devicelab-*.whl
	cd $(WHEEL_TEST_DIR) && env -u PYTHONPATH venv/bin/python -c "import sys, devicelab, devicelab.spice.library as lib; \
		ok = devicelab.__file__.startswith(sys.prefix) and str(lib.CIRCUITS_DIR).startswith(sys.prefix) \
		and (lib.CIRCUITS_DIR / 'adc_cells.lib').is_file(); \
		sys.exit(0 if ok else f'not the wheel: {devicelab.__file__}, {lib.CIRCUITS_DIR}'); " && \
		echo "wheel-test: devicelab and circuits/*.lib come from the wheel in $(WHEEL_TEST_DIR)/venv"
	cd $(WHEEL_TEST_DIR) && env -u PYTHONPATH venv/bin/devicelab adc characterize --type sar --bits 4 --heldout 8 \
		-o adc.h5

test-all: install lint
	$(PYTHON) -m pytest

bench: install
	for b in benchmarks/bench_*.py; do $(PYTHON) $$b || exit 1; done

clean:
	rm -rf $(DEMO_DIR) build *.egg-info .pytest_cache
