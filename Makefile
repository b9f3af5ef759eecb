# Two entry points: `make demo` and `make test`. Both install what they need first and are safe to re-run.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
APT_PACKAGES := ngspice libngspice0-dev dataset-fashion-mnist
DEMO_DIR ?= demo-output
PYTEST_ARGS ?= -m "not slow"

.PHONY: install system-deps python-deps demo lint test test-all bench clean

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

test-all: install lint
	$(PYTHON) -m pytest

bench: install
	for b in benchmarks/bench_*.py; do $(PYTHON) $$b || exit 1; done

clean:
	rm -rf $(DEMO_DIR) build *.egg-info .pytest_cache
