#!/usr/bin/env bash
# The third-party example plugins under examples/, tested the way an outside
# author would: each is pip-installed from its folder against the installed
# kernel, then its OWN tests run from its folder (its pyproject's pytest
# settings, Jishi's fixtures from the jishi.testing pytest plugin).
#
#   bash scripts/test_examples.sh [pytest args...]
#
# Runs on SQLite; then on PostgreSQL when JISHI_TEST_DATABASE_URL is set.
# Last line: "N passed, M failed"; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python}
ART="$ROOT/test-artifacts"
mkdir -p "$ART"
PG_URL=${JISHI_TEST_DATABASE_URL:-}

PASSED=0
FAILED=0
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

summary() {  # junit xml -> "passed failed"
    "$PY" - "$1" <<'PYEOF'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    print(0, 1)  # pytest could not even write its report: count as a failure
    raise SystemExit
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
tests = sum(int(s.get("tests", 0)) for s in suites)
failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - failed - skipped, failed)
PYEOF
}

for dir in "$ROOT"/examples/*/; do
    [ -f "$dir/pyproject.toml" ] || continue
    name=$(basename "$dir")
    echo "== pip install -e examples/$name"
    if ! "$PY" -m pip install -q --no-deps -e "$dir"; then
        echo "== examples/$name: pip install FAILED"
        FAILED=$((FAILED + 1))
        continue
    fi
    for db in sqlite postgresql; do
        if [ "$db" = sqlite ]; then
            url=""
        elif [ -n "$PG_URL" ]; then
            url=$PG_URL
        else
            echo "== examples/$name on PostgreSQL skipped: JISHI_TEST_DATABASE_URL unset"
            continue
        fi
        xml="$ART/junit-example-$name-$db.xml"
        rm -f "$xml"
        echo "== examples/$name: pytest on $db"
        (cd "$dir" && JISHI_TEST_DATABASE_URL="$url" "$PY" -m pytest -q --junitxml="$xml" "$@")
        read -r p f < <(summary "$xml")
        echo "== examples/$name on $db: $p passed, $f failed"
        PASSED=$((PASSED + p))
        FAILED=$((FAILED + f))
    done
done
finish
