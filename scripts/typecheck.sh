#!/usr/bin/env bash
# The type checker over the plugin contract, the public API and examples/
# (the file list and settings are in mypy.ini). Exits non-zero on any error.
#
#   bash scripts/typecheck.sh [mypy args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
exec "$PY" -m mypy --config-file mypy.ini "$@"
