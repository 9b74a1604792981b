.PHONY: help install demo test ci lint typecheck docs check

help:  ## this list
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

install:  ## install the kernel, plugins and test tools (editable)
	pip install -r requirements-dev.txt

demo:  ## fresh demo shop on 127.0.0.1:5000
	jishi demo

test:  ## the suite on SQLite then PostgreSQL
	bash scripts/test.sh

ci:  ## what CI runs
	bash .ci/run

lint:  ## ruff (lint + format check) and mypy
	ruff check . && ruff format --check . && bash scripts/typecheck.sh

typecheck:  ## mypy over the hook contract, the public API and examples/ (mypy.ini)
	bash scripts/typecheck.sh

docs:  ## regenerate docs/plugin-hooks.md
	jishi docs hooks

check:  ## models vs migrations, hook docs current
	jishi db check && jishi docs hooks --check
