#!/usr/bin/env bash
# Lint, format and type checks, then the whole test suite twice (SQLite, then
# PostgreSQL; pytest-xdist workers), the flash-sale stress test, the example
# plugins and CLI smoke checks.
#
#   bash scripts/test.sh [pytest args...]
#
# Runs from the project's virtualenv .venv (created and filled from
# requirements-dev.txt on first use and when a requirements file changes);
# PYTHON=... runs with that interpreter as it is instead.
# PostgreSQL: JISHI_TEST_DATABASE_URL when set; otherwise a fresh database is
# created on 127.0.0.1:5432 (user postgres, trust auth) and dropped after; when
# no server answers, the PostgreSQL run is skipped (CI always has one).
# Ends with one plain line "N passed, M failed" summing both runs, and exits
# non-zero when anything failed.
set -euo pipefail
START=${JISHI_TEST_START:-$(date +%s)}
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ART="$ROOT/test-artifacts"
mkdir -p "$ART"

# Everything runs from the project's own virtualenv (.venv, created on first
# use), never from whatever the machine has installed: what passes here
# passes on a fresh machine with today's packages. PYTHON=... uses another
# interpreter as it is (an environment you manage yourself).
if [ -n "${PYTHON:-}" ]; then
    PY=$PYTHON
else
    VENV=${JISHI_VENV:-$ROOT/.venv}
    if [ ! -x "$VENV/bin/python" ]; then
        echo "== creating the virtualenv $VENV"
        python3 -m venv "$VENV"
    fi
    PY=$VENV/bin/python
    export PATH="$VENV/bin:$PATH"
    STAMP=$VENV/.jishi-installed
    if [ ! -f "$STAMP" ] || [ -n "$(find requirements-dev.txt setup.py plugins/*/pyproject.toml examples/*/pyproject.toml -newer "$STAMP" 2>/dev/null)" ]; then
        echo "== installing requirements-dev.txt into $VENV"
        "$PY" -m pip install -q --upgrade pip
        "$PY" -m pip install -q -r requirements-dev.txt
        touch "$STAMP"
    fi
fi
if ! "$PY" -c "import jishi, pytest, xdist, psycopg, playwright" >/dev/null 2>&1; then
    echo "== installing requirements-dev.txt"
    "$PY" -m pip install -q -r requirements-dev.txt
fi
# Parallel workers (pytest-xdist; one database per worker): 2 on this
# project's CI machine, JISHI_TEST_WORKERS=0 runs in one process.
WORKERS=${JISHI_TEST_WORKERS:-auto}

summary() {  # junit xml -> "passed failed skipped"
    "$PY" - "$1" <<'PYEOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 1, 0)  # pytest could not even write its report: count as a failure
    raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
tests = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - failed - skipped, failed, skipped)
PYEOF
}

PASSED=0
FAILED=0
SKIPPED=0
run_pytest() {  # label, then extra pytest args
    local label=$1
    shift
    local xml="$ART/junit-$label.xml"
    rm -f "$xml"
    echo "== pytest on $label"
    set +e
    "$PY" -m pytest -q -n "$WORKERS" --dist loadfile --junitxml="$xml" "$@"
    set -e
    read -r p f s < <(summary "$xml")
    echo "== $label: $p passed, $f failed, $s skipped"
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    SKIPPED=$((SKIPPED + s))
}

# 0. Lint, format and types (each counts as one test)
check() {  # label, then the command
    local label=$1
    shift
    echo "== $label"
    if "$@"; then PASSED=$((PASSED + 1)); else echo "$label FAILED"; FAILED=$((FAILED + 1)); fi
}
check "ruff check" "$PY" -m ruff check .
check "ruff format --check" "$PY" -m ruff format --check .
check "mypy (scripts/typecheck.sh)" env PYTHON="$PY" bash scripts/typecheck.sh

# 1. SQLite (a database file per app configuration and worker)
JISHI_TEST_DATABASE_URL= run_pytest sqlite "$@"

# 2. PostgreSQL
PG_URL=${JISHI_TEST_DATABASE_URL:-}
CREATED_DB=""
if [ -z "$PG_URL" ] && command -v psql >/dev/null 2>&1 \
    && psql -h 127.0.0.1 -U postgres -d postgres -Atqc "select 1" >/dev/null 2>&1; then
    CREATED_DB="jishi_test_$$_$(date +%s)"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $CREATED_DB" >/dev/null
    PG_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$CREATED_DB"
fi
if [ -n "$PG_URL" ]; then
    rm -f "$ART/fault-table.txt"
    JISHI_TEST_DATABASE_URL="$PG_URL" run_pytest postgresql "$@"
    # The fault-injection suite's table (tests/deploy/test_faults.py, docs/deployment.md)
    if [ -f "$ART/fault-table.txt" ]; then
        echo "== fault table (tests/deploy/test_faults.py)"
        cat "$ART/fault-table.txt"
    fi
else
    echo "== PostgreSQL run skipped: no server on 127.0.0.1:5432 and JISHI_TEST_DATABASE_URL unset"
fi
# 2a. Flash-sale stress: gunicorn (4 workers) + PostgreSQL through HTTP,
#     1,000 attempts from 200 buyers on 100 units (with Redis: the queue at
#     10,000 attempts from 2,000 buyers on 1,000 units); PASS/FAIL counts as one test
if [ -n "$PG_URL" ]; then
    echo "== flash-sale stress"
    STRESS_ARGS=""
    if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then STRESS_ARGS="--redis"; fi
    if bash scripts/stress_flashsale.sh $STRESS_ARGS; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
fi

# 2b. The third-party example plugins (examples/), pip-installed and tested
#     like an outside plugin: SQLite, then the PostgreSQL database above
echo "== examples: scripts/test_examples.sh"
set +e
JISHI_TEST_DATABASE_URL="$PG_URL" bash scripts/test_examples.sh 2>&1 | tee "$ART/examples.log"
set -e
if [[ $(tail -n 1 "$ART/examples.log") =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    PASSED=$((PASSED + BASH_REMATCH[1]))
    FAILED=$((FAILED + BASH_REMATCH[2]))
else
    echo "examples: no summary line"
    FAILED=$((FAILED + 1))
fi

if [ -n "$CREATED_DB" ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists $CREATED_DB with (force)" >/dev/null || true
fi

# 3. Smoke checks of the command line with every installed plugin enabled
SMOKE=$(mktemp -d)
smoke() {  # one command in a scratch instance; counts as one test
    echo "== smoke: jishi $*"
    if (cd "$SMOKE" && JISHI_PLUGINS=all JISHI_SANDBOX_SECRET=smoke JISHI_SECRET_KEY=smoke JISHI_DATABASE_URL="sqlite:///$SMOKE/smoke.db" jishi "$@"); then
        PASSED=$((PASSED + 1))
    else
        echo "smoke check FAILED: jishi $*"
        FAILED=$((FAILED + 1))
    fi
}
smoke db upgrade
smoke plugins list
smoke themes list
smoke db check
smoke docs hooks --check
rm -rf "$SMOKE"

echo "== took $(( $(date +%s) - START )) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
