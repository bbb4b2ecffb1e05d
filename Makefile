# One command each: make run, make test, make lint (see README.md).

SHELL := /bin/bash

# The pinned uv lives in .tools/ so every machine resolves the same way; it never downloads
# a Python, it uses the python3.11 on PATH.
export UV_PYTHON := python3.11
export UV_PYTHON_DOWNLOADS := never
UV_VERSION := 0.13.8
UV := .tools/bin/uv
UV_STAMP := .tools/.uv-$(UV_VERSION)

LINT_PATHS := $(wildcard api workflows activities tests worker.py scripts bench)
PYTEST_ARGS ?=

.PHONY: setup run test lint system-deps clean backup

setup: $(UV_STAMP)
	$(UV) sync --frozen

$(UV_STAMP):
	python3.11 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

run: setup
	.venv/bin/python scripts/run_embedded.py

# A consistent copy of the running (or stopped) embedded default: both SQLite files and the
# data dir's secrets, into backups/ (or TO=dir). Restore: scripts/backup.py --restore.
backup: setup
	.venv/bin/python scripts/backup.py $(if $(TO),--to $(TO))

test: setup system-deps
	.venv/bin/pytest $(PYTEST_ARGS)

system-deps:
	bash scripts/ensure_system_deps.sh

lint: setup
	.venv/bin/ruff check $(LINT_PATHS)
	.venv/bin/ruff format --check $(LINT_PATHS)
	.venv/bin/mypy api workflows activities worker.py
	.venv/bin/lint-imports

clean:
	rm -rf .venv .tools data
