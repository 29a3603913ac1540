# Quick start: `make demo` runs the pipeline on an offline toy set (or DATA=folder); `make test` runs the tests.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?=
WS ?= assay-workspace

.PHONY: demo test install clean

$(BIN)/assay: pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (set PY=...)"; exit 2; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(BIN)/assay

install: $(BIN)/assay

demo: install
	ASSAY_WORKSPACE=$(WS) $(BIN)/python -m assay.demo $(if $(DATA),--data "$(DATA)",)

test: install
	$(BIN)/lint-imports
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(WS)
