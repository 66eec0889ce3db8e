#!/usr/bin/env bash
# The suite on SQLite and on PostgreSQL, then the other Airflow releases of ci/airflow-*.txt.
# Usage: scripts/test.sh [ui|sqlite|postgres|lint|matrix|all] [pytest args...]
#        scripts/test.sh release X.Y [pytest args...]   (one release of the matrix)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
which_db=${1:-all}
[ $# -gt 0 ] && shift

PG_HOST=${WEBHOOK_TEST_PG_HOST:-127.0.0.1}
PG_PORT=${WEBHOOK_TEST_PG_PORT:-5432}
# a database of this run's own (parallel runs do not collide), dropped when the run ends
PG_DB=${WEBHOOK_TEST_PG_DB:-webhook_trigger_test_$$}

ensure_postgres() {
  if ! "$BIN/python" -c "import psycopg2; psycopg2.connect(host='$PG_HOST', port=$PG_PORT, user='postgres', dbname='postgres').close()" 2>/dev/null; then
    echo "PostgreSQL not reachable at $PG_HOST:$PG_PORT; trying to start the local cluster" >&2
    if command -v pg_ctlcluster >/dev/null; then
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
      sleep 2
    fi
  fi
  pg_admin "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" "CREATE DATABASE $PG_DB"
}

# Run each argument as a statement on the server's postgres database (autocommit).
pg_admin() {
  "$BIN/python" - "$@" <<PY
import sys
import psycopg2
conn = psycopg2.connect(host="$PG_HOST", port=$PG_PORT, user="postgres", dbname="postgres")
conn.autocommit = True
for statement in sys.argv[1:]:
    conn.cursor().execute(statement)
conn.close()
PY
}

drop_postgres() {
  pg_admin "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" 2>/dev/null || true
}

# One Airflow release of the matrix: a venv of its own from ci/airflow-X.Y.txt, this project
# installed into it without dependencies, and the integration and end-to-end tests on
# SQLite (the whole suite runs on the release the dev extra pins, above).
run_release() {
  local release=$1; shift
  local venv=.venv-airflow-$release
  if [ ! -f "$venv/.installed" ] || [ "ci/airflow-$release.txt" -nt "$venv/.installed" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "ci/airflow-$release.txt"
    "$venv/bin/pip" install -q --no-deps -e .
    rm -rf airflow_webhook_trigger.egg-info  # on sys.path, Airflow would load the plugin twice
    touch "$venv/.installed"
  fi
  echo "== tests on Airflow $("$venv/bin/python" -c 'import airflow; print(airflow.__version__)') (SQLite)"
  env -u WEBHOOK_TEST_DATABASE HYPOTHESIS_PROFILE=dev "$venv/bin/python" -m pytest \
    -m "airflow or e2e" --deselect tests/test_faults.py "$@"
}

status=0
if [ "$which_db" = release ]; then
  run_release "$@" || status=$?
  exit $status
fi
if [ "$which_db" = all ] || [ "$which_db" = lint ]; then
  echo "== lint and types"
  "$BIN/ruff" check airflow_webhook_trigger tests bench dags_examples
  "$BIN/ruff" format --check airflow_webhook_trigger tests bench dags_examples
  "$BIN/mypy"
fi
if [ "$which_db" = all ] || [ "$which_db" = ui ]; then
  # The Webhooks page (ui/): the committed bundle is what its sources build, and Vitest.
  # Without npm this stage is skipped, unless WEBHOOK_TEST_BROWSER=required (CI).
  if command -v npm >/dev/null; then
    echo "== the Webhooks page: build check and component tests"
    make --no-print-directory ui-check || status=$?
  elif [ "${WEBHOOK_TEST_BROWSER:-}" = required ]; then
    echo "npm is missing: the page's build check and component tests cannot run" >&2
    status=1
  else
    echo "== the Webhooks page: skipped (no npm)"
  fi
fi
if [ "$which_db" = all ] || [ "$which_db" = sqlite ]; then
  echo "== tests on SQLite"
  env -u WEBHOOK_TEST_DATABASE HYPOTHESIS_PROFILE=ci "$BIN/python" -m pytest \
    --cov --cov-report=term:skip-covered "$@" || status=$?
fi
if [ "$which_db" = all ] || [ "$which_db" = postgres ]; then
  echo "== tests on PostgreSQL"
  ensure_postgres
  trap drop_postgres EXIT
  WEBHOOK_TEST_DATABASE="postgresql+psycopg2://postgres@$PG_HOST:$PG_PORT/$PG_DB" \
    HYPOTHESIS_PROFILE=dev "$BIN/python" -m pytest -m "(airflow or e2e) and not browser" "$@" || status=$?
fi
if [ "$which_db" = all ] || [ "$which_db" = matrix ]; then
  for pins in ci/airflow-*.txt; do
    release=$(basename "$pins" .txt); release=${release#airflow-}
    run_release "$release" "$@" || status=$?
  done
fi
exit $status
