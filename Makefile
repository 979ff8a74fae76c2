# Two commands: `make demo` (main job on the embedded default) and `make test`.
# Both create .venv on first use. Where the venv has no torch, the CPU build is installed
# (TORCH_SPEC); on a GPU box use your own env, or `make TORCH_SPEC="torch --index-url ..."`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test lint setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[test,ray]"
	touch $@

demo: setup
	$(VENV)/bin/mbo demo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check mbo surrogates domains tests benchmarks

clean:
	rm -rf runs .pytest_cache
