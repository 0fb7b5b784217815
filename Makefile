# Two entry points for a newcomer: `make demo` and `make test`. Everything they need is
# installed by the targets below (see README.md), as root or as a user with sudo: the scripts
# use sudo only to install packages, start the engine and run debootstrap.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: all prereqs venv engine images lint typecheck unit integration test demo bench clean

all: test

# python3-venv, which a minimal Debian lacks (through sudo when not root).
prereqs:
	scripts/install-prereqs

$(VENV)/.installed: pyproject.toml
	scripts/install-prereqs
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

engine:
	scripts/provision-engine

images: engine
	scripts/make-images

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest tests/unit

integration: venv engine images
	$(BIN)/pytest tests/integration

test: lint typecheck unit integration

demo: venv engine images
	scripts/demo

bench: venv engine images
	$(PY) -m bench

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
