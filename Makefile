# Two commands matter: `make demo` and `make test`. Everything else is a step of theirs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_ADDR ?= 127.0.0.1:8000

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
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
