#!/usr/bin/env bash
# `make demo`: Airflow 3 on SQLite with the example DAGs and webhooks, then ready-to-paste curl lines.
# DEMO_PORT (default 8080) picks the port; DEMO_SMOKE=1 runs the curl lines itself and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=$ROOT/.venv/bin
PORT=${DEMO_PORT:-8080}
DEMO=${DEMO_DIR:-$ROOT/.demo}

export AIRFLOW_HOME=$DEMO/airflow
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$AIRFLOW_HOME/airflow.db
export AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS=airflow_webhook_trigger.db_manager.WebhookDBManager
export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags_examples
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__API__BASE_URL=http://localhost:$PORT
export AIRFLOW__API__PORT=$PORT
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://localhost:$PORT/execution/
export AIRFLOW__API_AUTH__JWT_SECRET=${AIRFLOW__API_AUTH__JWT_SECRET:-demo-only-jwt-secret-change-me-0123456789abcdef0123456789abcdef0123456789}
# Each run needs about three scheduler loops: 0.1 s instead of the default 1 s gets ~1 s runs.
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=0.1
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=10
export PAYMENT_HOOK_PASSWORD=${PAYMENT_HOOK_PASSWORD:-demo-pay-secret}
# GitHub signs its deliveries: the api-server reads this secret on every request
export GITHUB_WEBHOOK_SECRET=${GITHUB_WEBHOOK_SECRET:-demo-gh-secret}
export ORDER_HOOK_PASSWORD=${ORDER_HOOK_PASSWORD:-demo-order-secret}

# The demo's state is disposable: every run starts from a fresh SQLite file.
rm -rf "$AIRFLOW_HOME"
mkdir -p "$AIRFLOW_HOME"
echo "== migrating the metadata DB ($AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)"
"$BIN/airflow" db migrate >"$DEMO/migrate.log" 2>&1 || { cat "$DEMO/migrate.log"; exit 1; }

declare -A pids=()
# Stop the process group of each component given, waiting for them at most $1 seconds,
# then SIGKILL what is left (a scheduler whose LocalExecutor still waits on a task does not
# exit on SIGTERM alone).
stop_groups() {
  local bound=$1; shift
  for c in "$@"; do [ -n "${pids[$c]:-}" ] && kill -TERM -- "-${pids[$c]}" 2>/dev/null || true; done
  for _ in $(seq 1 $((bound * 5))); do
    local alive=0
    for c in "$@"; do [ -n "${pids[$c]:-}" ] && kill -0 -- "-${pids[$c]}" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.2
  done
  for c in "$@"; do [ -n "${pids[$c]:-}" ] && kill -KILL -- "-${pids[$c]}" 2>/dev/null || true; done
}
cleanup() {
  trap - EXIT INT TERM
  # The scheduler first: its running tasks report their end to the api-server, which must
  # still be up (else they retry against a closed port for minutes)
  stop_groups 20 scheduler
  stop_groups 10 api-server dag-processor
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for component in api-server scheduler dag-processor; do
  args=("$component")
  [ "$component" = api-server ] && args+=(--port "$PORT" --workers 1)
  setsid "$BIN/airflow" "${args[@]}" >"$DEMO/$component.log" 2>&1 &
  pids[$component]=$!
done

echo "== waiting for the api-server on port $PORT and the example DAGs"
for _ in $(seq 1 180); do
  if curl -fs "http://localhost:$PORT/api/v2/monitor/health" >/dev/null 2>&1 \
     && "$BIN/airflow" dags list 2>/dev/null | grep -q payment_callback; then
    ready=1; break
  fi
  sleep 1
done
[ "${ready:-0}" = 1 ] || { echo "Airflow did not come up; see $DEMO/*.log" >&2; tail -20 "$DEMO"/*.log >&2; exit 1; }

echo "== applying dags_examples/webhooks.yaml"
"$BIN/airflow-webhooks" apply -f dags_examples/webhooks.yaml

# The environment that reaches this demo's Airflow, for its CLI (URLs use its base URL)
cat >"$DEMO/env.sh" <<ENV
export AIRFLOW_HOME=$AIRFLOW_HOME
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
export AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS=$AIRFLOW__DATABASE__EXTERNAL_DB_MANAGERS
export AIRFLOW__API__BASE_URL=$AIRFLOW__API__BASE_URL
export PAYMENT_HOOK_PASSWORD=$PAYMENT_HOOK_PASSWORD GITHUB_WEBHOOK_SECRET=$GITHUB_WEBHOOK_SECRET ORDER_HOOK_PASSWORD=$ORDER_HOOK_PASSWORD
ENV

# Warm the executor: the first task run starts cold task processes (measured: up to ~17 s);
# one run first, so that the sync calls below answer in their usual time.
echo "== warming the executor with one payment_callback run"
curl -fsS --max-time 60 -o /dev/null -u "stripe:$PAYMENT_HOOK_PASSWORD" -H 'Content-Type: application/json' \
  -d '{"data": {"object": {"amount": 1, "currency": "EUR"}}}' \
  "http://localhost:$PORT/webhook/trigger/pay-3f9c2a7d81e4b6a0"
for _ in $(seq 1 180); do
  warm=$("$BIN/airflow" dags list-runs payment_callback -o plain 2>/dev/null | grep -c success || true)
  [ "$warm" -ge 1 ] && break
  sleep 1
done

PAY=http://localhost:$PORT/webhook/trigger/pay-3f9c2a7d81e4b6a0
GH=http://localhost:$PORT/webhook/trigger/gh-push-9b1e4c7a2d5f8e30
ORDER=http://localhost:$PORT/webhook/trigger/order-sync-5d2a9c81f04b7e63
cat >"$DEMO/curls-async.sh" <<CURLS
# A payment settles: 200 "ok", and a payment_callback run with amount=1250, currency=USD
curl -isS -w '\n' -u stripe:$PAYMENT_HOOK_PASSWORD -H 'Content-Type: application/json' -H 'X-Request-Id: r-1' -d '{"type": "payment_intent.succeeded", "data": {"object": {"amount": 1250, "currency": "USD"}}}' $PAY
# The same through the Flask blueprint (FAB provider installed): same answer
curl -isS -w '\n' -u stripe:$PAYMENT_HOOK_PASSWORD -H 'Content-Type: application/json' -d '{"data": {"object": {"amount": 990, "currency": "EUR"}}}' http://localhost:$PORT/pluginsv2/webhook/trigger/pay-3f9c2a7d81e4b6a0
# The DAG's params are the schema: amount must be an integer -> 422 naming the param, no run
curl -isS -w '\n' -u stripe:$PAYMENT_HOOK_PASSWORD -H 'Content-Type: application/json' -d '{"data": {"object": {"amount": "12.50"}}}' $PAY
# Wrong password -> 401, no run
curl -isS -w '\n' -u stripe:wrong -H 'Content-Type: application/json' -d '{}' $PAY
# A GitHub push, signed as GitHub signs it (X-Hub-Signature-256: HMAC-SHA256 of the exact
# body with the webhook's secret, here by openssl): 202 {"accepted": true}, a github_push run.
# Paste it twice: the same X-Airflow-Run-Id, no second run (one run per signed body)
BODY='{"ref": "refs/heads/main", "repository": {"full_name": "acme/shop"}, "head_commit": {"id": "9fceb02"}}'
curl -isS -w '\n' -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: d-1' -H "X-Hub-Signature-256: sha256=\$(printf '%s' "\$BODY" | openssl dgst -sha256 -hmac '$GITHUB_WEBHOOK_SECRET' | sed 's/^.* //')" --data-binary "\$BODY" '$GH?dry_run=1'
# GitHub's ping (sent when a webhook is created), signed: 200 {"ignored": true, ...}, no run
PING='{"zen": "Keep it logically awesome.", "hook_id": 1}'
curl -isS -w '\n' -H 'Content-Type: application/json' -H 'X-GitHub-Event: ping' -H 'X-GitHub-Delivery: d-0' -H "X-Hub-Signature-256: sha256=\$(printf '%s' "\$PING" | openssl dgst -sha256 -hmac '$GITHUB_WEBHOOK_SECRET' | sed 's/^.* //')" --data-binary "\$PING" '$GH'
# The same push signed with another secret -> 401, no run
curl -isS -w '\n' -H 'Content-Type: application/json' -H "X-Hub-Signature-256: sha256=\$(printf '%s' "\$BODY" | openssl dgst -sha256 -hmac 'not-the-secret' | sed 's/^.* //')" --data-binary "\$BODY" '$GH?dry_run=1'
CURLS
cat >"$DEMO/curls-sync.sh" <<CURLS
# Sync: the call waits for the DAG's answer (measured: 1.0-1.2 s, the executor warm): 200 with the order's total
curl -isS -w '\n(%{time_total} s)\n' -u shop:$ORDER_HOOK_PASSWORD -H 'Content-Type: application/json' -d '{"order": {"id": "o-1", "sku": "SKU-2", "quantity": 3}}' $ORDER
# Sync, the other branch: 422 with the reason
curl -isS -w '\n(%{time_total} s)\n' -u shop:$ORDER_HOOK_PASSWORD -H 'Content-Type: application/json' -d '{"order": {"id": "o-2", "sku": "SKU-9", "quantity": 1}}' $ORDER
CURLS
cat "$DEMO/curls-async.sh" "$DEMO/curls-sync.sh" >"$DEMO/curls.sh"

echo
echo "Airflow UI: http://localhost:$PORT  (all users are admins in this demo)"
echo "Webhooks page: http://localhost:$PORT/plugin/webhooks  (New webhook, paste a sample, Parse, alias, Save)"
echo "Webhooks CLI:  source $DEMO/env.sh && $BIN/airflow-webhooks list"
echo "Paste these:"
echo
cat "$DEMO/curls.sh"
echo

if [ "${DEMO_SMOKE:-0}" = 1 ]; then
  bash -e "$DEMO/curls-async.sh" >"$DEMO/curls.out" 2>&1
  cat "$DEMO/curls.out"
  echo "== waiting for the runs to succeed"
  for _ in $(seq 1 180); do
    ok=$("$BIN/airflow" dags list-runs payment_callback -o plain 2>/dev/null | grep -c success || true)
    [ "$ok" -ge 3 ] && break
    sleep 1
  done
  [ "$ok" -ge 3 ] || { echo "the demo runs did not succeed" >&2; exit 1; }
  echo "payment_callback runs succeeded: $ok"
  # the executor is warm now: the sync calls answer within their 25 s
  bash -e "$DEMO/curls-sync.sh"
  exit 0
fi
echo "Press Ctrl-C to stop."
wait
