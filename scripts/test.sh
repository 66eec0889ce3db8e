#!/usr/bin/env bash
# The suite on SQLite and on PostgreSQL. Usage: scripts/test.sh [sqlite|postgres|all] [pytest args...]
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
  "$BIN/python" - <<PY
import psycopg2
conn = psycopg2.connect(host="$PG_HOST", port=$PG_PORT, user="postgres", dbname="postgres")
conn.autocommit = True
cur = conn.cursor()
cur.execute("DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)")
cur.execute("CREATE DATABASE $PG_DB")
conn.close()
PY
}

drop_postgres() {
  "$BIN/python" - <<PY 2>/dev/null || true
import psycopg2
conn = psycopg2.connect(host="$PG_HOST", port=$PG_PORT, user="postgres", dbname="postgres")
conn.autocommit = True
conn.cursor().execute("DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)")
conn.close()
PY
}

status=0
if [ "$which_db" = all ] || [ "$which_db" = lint ]; then
  echo "== lint and types"
  "$BIN/ruff" check airflow_webhook_trigger tests bench dags_examples
  "$BIN/ruff" format --check airflow_webhook_trigger tests bench dags_examples
  "$BIN/mypy"
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
    HYPOTHESIS_PROFILE=dev "$BIN/python" -m pytest -m "airflow or e2e" "$@" || status=$?
fi
exit $status
