# The README's commands. Everything installs into .venv (and node_modules/ for the EVM node).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install run demo test lint bench messages clean

install: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[all,dev]'
	touch $(STAMP)

# The EVM node (anvil) for the chain tests, pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

run: install
	$(BIN)/copyseal serve

demo: install
	bash scripts/demo.sh

test: install lint
	bash scripts/system-deps.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: install
	bash scripts/system-deps.sh
	$(BIN)/python -m bench
	$(BIN)/python -m bench.similarity

# Extract the marked messages and merge them into each catalogue (then translate the new ones).
messages: install
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output -k _ -k N_ -k ngettext:1,2 \
		--project copyseal -o src/copyseal/locale/copyseal.pot src
	$(BIN)/pybabel -q update -N --no-wrap -D copyseal -i src/copyseal/locale/copyseal.pot \
		-d src/copyseal/locale -l zh_CN

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
