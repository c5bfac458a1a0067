# The verbs people expect. Every target that needs Python bootstraps .venv first, so
# `make serve` and `make test` work on a fresh clone with only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv test unit integration lint fmt serve bench bench-train bench-serve image deploy-check clean

# Re-install only when the project metadata changes. pip at -qq: errors only, since
# a machine's pip configuration can add a warning per package (issue 14).
$(STAMP): pyproject.toml
	@echo "make: setting up $(VENV) (first run or a changed pyproject.toml; a minute or two)"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -qq --disable-pip-version-check -e '.[dev,plots,s3,dask]'
	@touch $(STAMP)

venv: $(STAMP)

# nginx and strace for tests/faults, chromium for tests/browser: installed first when
# root and missing, else named
test: venv
	scripts/install-test-tools.sh
	$(PY) -m pytest

unit: venv
	$(PY) -m pytest tests/unit

integration: venv
	$(PY) -m pytest tests/integration

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

serve: venv
	scripts/serve.sh

bench: bench-train bench-serve

bench-train: venv
	$(PY) bench/train.py

bench-serve: venv
	$(PY) bench/serve.py

image:
	scripts/build-image.sh

deploy-check: venv
	scripts/deploy-check.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
