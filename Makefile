# Two commands matter: `make demo` and `make test`. Everything else is a step of theirs.
# Python versions: the range in pyproject.toml's requires-python (">=3.X,<3.Y"), the
# versions every pinned dependency ships wheels for. The newest interpreter on PATH in
# that range is used; PYTHON=/path/to/python overrides (and is checked the same way).
PY_RANGE := $(shell sed -n 's/^requires-python = ">=3\.\([0-9]*\),<3\.\([0-9]*\)"/\1 \2/p' pyproject.toml)
PY_MIN := $(word 1,$(PY_RANGE))
PY_END := $(word 2,$(PY_RANGE))
PY_WANTED := $(shell seq $$(($(PY_END) - 1)) -1 $(PY_MIN) 2>/dev/null | sed 's/^/3./')
PY_FITS = import sys; sys.exit(sys.version_info[0] != 3 or not $(PY_MIN) <= sys.version_info[1] < $(PY_END))
PYTHON ?= $(shell for v in $(PY_WANTED); do p=$$(command -v python$$v) && $$p -c '$(PY_FITS)' >/dev/null 2>&1 && { echo $$p; break; }; done; \
	test -n "$$p" || { p=$$(command -v python3) && $$p -c '$(PY_FITS)' >/dev/null 2>&1 && echo $$p; })
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# make demo PORT=8001 serves on another port; DEMO_ADDR=host:port sets both.
PORT ?= 8000
DEMO_ADDR ?= 127.0.0.1:$(PORT)
DEMO_PORT = $(lastword $(subst :, ,$(DEMO_ADDR)))
NEXT = $$(($(DEMO_PORT) + 1))
NEXT_PORT = $(if $(filter command line environment,$(origin DEMO_ADDR)),DEMO_ADDR=$(patsubst %:$(DEMO_PORT),%,$(DEMO_ADDR)):$(NEXT),PORT=$(NEXT))
# Binds DEMO_ADDR's host and port (as runserver will) and lets go; fails if taken.
PORT_FREE = import socket, sys; host, _, port = sys.argv[1].rpartition(":"); host = host.strip("[]"); \
	socket.create_server((host, int(port)), family=socket.AF_INET6 if ":" in host else socket.AF_INET).close()

.PHONY: install demo test lint format bench clean python port-free

# Which interpreter a fresh .venv is made with (or why none fits).
python:
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c '$(PY_FITS)' >/dev/null 2>&1; then \
		echo "No suitable Python found: this project needs Python $(lastword $(PY_WANTED)) to $(firstword $(PY_WANTED)) (tried: $(addprefix python,$(PY_WANTED)) python3$(if $(filter command line environment,$(origin PYTHON)), and PYTHON=$(PYTHON))). Install one of them, or run make PYTHON=/path/to/python3.X" >&2; \
		exit 1; \
	fi
	@echo "Using $(PYTHON) ($$($(PYTHON) -c 'import platform; print(platform.python_version())'))"

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Checked first: a busy port should not cost a migrate and a training run first.
port-free:
	@$(or $(PYTHON),python3) -c '$(PORT_FREE)' '$(DEMO_ADDR)' 2>/dev/null || { \
		echo "port $(DEMO_PORT) is busy: run make demo $(NEXT_PORT)" >&2; exit 1; }

demo: port-free install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo
	@echo "Shop: http://$(DEMO_ADDR)/   admin: http://$(DEMO_ADDR)/admin/  (staff: admin / admin-demo-pass)"
	$(BIN)/python manage.py runserver --noreload $(DEMO_ADDR)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/pipeline_bench.py

clean:
	rm -rf $(VENV) db.sqlite3 var staticfiles .pytest_cache
