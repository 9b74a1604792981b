#!/usr/bin/env bash
# Flash-sale stress test (SPEC FS), run by CI from scripts/test.sh.
#
#   bash scripts/stress_flashsale.sh [--db postgres|sqlite] [--redis] [--workers N]
#
# Starts gunicorn (4 sync workers) on a fresh PostgreSQL database with the
# flashsale plugin, fires 1,000 purchase attempts from 200 buyers at a flash
# sale of 100 units (limit 2 per buyer, 32 at once) through the real HTTP
# stack, then checks: exactly 100 orders, flash stock 0, no buyer above the
# limit, normal stock untouched, no 5xx. Prints PASS or FAIL; exits non-zero
# on failure. With --redis (and redis-server installed) it runs again with
# the Redis gate, then with the gate and the queue at a scaled-down
# Double-11 shape (1,000 units, 10,000 attempts from 2,000 buyers, two
# consumers placing in batches; the full shape is bench/flashsale.py's).
# PostgreSQL: 127.0.0.1:5432, user postgres
# (BENCH_PG_ADMIN_URL to change).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
if ! "$PY" -c "import jishi_flashsale, gunicorn, psycopg" >/dev/null 2>&1; then
    echo "== installing the flashsale plugin"
    "$PY" -m pip install -q -e plugins/flashsale
fi
exec "$PY" bench/flashsale_stress.py "$@"
