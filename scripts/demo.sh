#!/usr/bin/env bash
# npm run demo: the whole pipeline on this machine, in one command.
# Starts a private redis-server, a local S3 server with a bucket, a webhook receiver, the
# monitor and the consumer; adds the bucket through the REST API (the curl calls of the
# README); uploads, changes and deletes a few objects; the receiver prints each webhook as
# it arrives. Ctrl-C stops everything this script started.
#   npm run demo            run until Ctrl-C
#   npm run demo -- --once  stop after the scripted changes (exit 1 if a webhook is missing)
set -euo pipefail
cd "$(dirname "$0")/.."

ONCE=0
[[ "${1:-}" == "--once" ]] && ONCE=1
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then B=$'\033[1m' H=$'\033[1;34m' R=$'\033[31m' N=$'\033[0m'; else B='' H='' R='' N=''; fi
bold () { printf '%s%s%s\n' "$B" "$*" "$N"; }
step () { printf '\n%s== %s%s\n' "$H" "$*" "$N"; }
die () { printf '%s%s%s\n' "$R" "$*" "$N" >&2; exit 1; }
pretty () { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.stringify(JSON.parse(s),null,2))}catch{console.log(s)}})'; }

# --- prerequisites -----------------------------------------------------------------------
command -v node >/dev/null || die "node is not installed: install Node.js 24 (https://nodejs.org)."
node scripts/ensure-node.mjs || exit 1
if ! command -v redis-server >/dev/null; then
  die "redis-server is not installed. Install it, then run npm run demo again:
  Debian/Ubuntu:  sudo apt-get install redis-server
  Fedora:         sudo dnf install redis
  macOS:          brew install redis"
fi
# curl shows the API calls as the README writes them; without it a small node stand-in answers.
command -v curl >/dev/null || curl () { node scripts/demo/curl.mjs "$@"; }
if [[ ! -d node_modules ]]; then
  step "Installing dependencies (npm ci, once)"
  npm ci --no-audit --no-fund
fi

# --- everything this script starts, stopped on exit or Ctrl-C ------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/watch-folder-demo.XXXXXX")
PIDS=()
KEEP_WORK=0
cleanup () {
  trap - EXIT INT TERM
  local pid
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ $KEEP_WORK == 1 ]]; then echo "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo; bold "stopping..."; exit 130' INT TERM

free_port () { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
random_b64 () { node -e "console.log(require('crypto').randomBytes($1).toString('base64'))"; }
wait_for () { # wait_for WHAT SECONDS COMMAND...
  local what=$1 seconds=$2; shift 2
  for _ in $(seq 1 $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  KEEP_WORK=1
  for log in "$WORK"/*.log; do echo "--- $log"; tail -n 20 "$log"; done
  die "$what did not start within ${seconds}s"
}

REDIS_PORT=$(free_port); RECEIVER_PORT=$(free_port); MONITOR_PORT=${DEMO_API_PORT:-$(free_port)}; CONSUMER_PORT=$(free_port)
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
SIGNING_SECRET="whsec_$(random_b64 32)"

step "Starting redis-server on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" > "$WORK/redis.log" 2>&1 &
PIDS+=($!)
wait_for "redis-server" 10 redis-cli -p "$REDIS_PORT" ping

step "Starting a local S3 server with the bucket demo-bucket"
node scripts/demo/s3-server.ts "$WORK/s3-endpoint" demo-bucket > "$WORK/s3.log" 2>&1 &
PIDS+=($!)
wait_for "the S3 server" 20 test -s "$WORK/s3-endpoint"
S3_ENDPOINT=$(cat "$WORK/s3-endpoint")
echo "S3 endpoint: $S3_ENDPOINT"

step "Starting the webhook receiver on 127.0.0.1:$RECEIVER_PORT"
HOST=127.0.0.1 PORT=$RECEIVER_PORT SIGNING_SECRET=$SIGNING_SECRET EVENTS_FILE="$WORK/events.jsonl" node scripts/demo/receiver.mjs &
PIDS+=($!)

# The services' configuration: the README's keys, with a short polling interval, and the
# loopback network allowed for the webhook and the S3 endpoint (refused by default).
cat > "$WORK/config.yaml" <<EOF
defaults:
  polling_interval: 2
webhook:
  allowed_networks: [127.0.0.0/8]
consumer:
  polling_interval: 0.5
logging:
  level: INFO
EOF

export CONFIG_PATH="$WORK/config.yaml" REDIS_HOST=127.0.0.1 REDIS_PORT POLLING_INTERVAL=2
export SECRETS_KEY; SECRETS_KEY=$(random_b64 32)
export JWT_SECRET; JWT_SECRET=$(random_b64 48)
# The API client is fixed, so the README's walkthrough works as printed: the values are the
# published demo ones (refused outside a demo, hence ALLOW_DEMO_SECRETS), and DEMO_CLIENT_ID /
# DEMO_CLIENT_SECRET override them.
export API_CLIENT_ID=${DEMO_CLIENT_ID:-demo-client}
export API_CLIENT_SECRET=${DEMO_CLIENT_SECRET:-demo-client-secret-change-me}
export ALLOW_DEMO_SECRETS=true

step "Starting the monitor (npm run monitor) on :$MONITOR_PORT and the consumer (npm run consumer) on :$CONSUMER_PORT"
# The monitor with its shipped heap and allocator settings, as `npm run monitor` starts it.
HTTP_PORT=$MONITOR_PORT env MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 node --max-semi-space-size=2 --max-old-space-size=256 services/monitor/src/main.ts > "$WORK/monitor.log" 2>&1 &
PIDS+=($!)
HTTP_PORT=$CONSUMER_PORT node services/consumer/src/main.ts > "$WORK/consumer.log" 2>&1 &
PIDS+=($!)
wait_for "the monitor" 60 curl -sf "http://127.0.0.1:$MONITOR_PORT/ready"
wait_for "the consumer" 60 curl -sf "http://127.0.0.1:$CONSUMER_PORT/ready"
echo "monitor and consumer are ready (logs: $WORK/monitor.log, $WORK/consumer.log)"

API="http://127.0.0.1:$MONITOR_PORT"
json_field () { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined)process.exit(1);console.log(v)})' "$1"; }

step "Getting an API token"
bold "\$ curl -X POST $API/api/auth/token -H 'Content-Type: application/json' -d '{\"client_id\":\"$API_CLIENT_ID\",\"client_secret\":\"$API_CLIENT_SECRET\"}'"
TOKEN=$(curl -sf -X POST "$API/api/auth/token" -H 'Content-Type: application/json' \
  -d "{\"client_id\":\"$API_CLIENT_ID\",\"client_secret\":\"$API_CLIENT_SECRET\"}" | json_field access_token) \
  || { KEEP_WORK=1; die "no token: see $WORK/monitor.log"; }
echo "token: $TOKEN"

step "Adding the bucket through the API"
BUCKET_JSON=$(cat <<EOF
{"name":"demo-bucket","access_key":"demo-access-key","secret_key":"demo-secret-key","endpoint":"$S3_ENDPOINT","webhook_url":"http://127.0.0.1:$RECEIVER_PORT/webhook","signing_secret":"$SIGNING_SECRET"}
EOF
)
bold "\$ curl -X POST $API/api/buckets/add -H \"Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"demo-bucket\",\"access_key\":\"…\",\"secret_key\":\"…\",\"endpoint\":\"$S3_ENDPOINT\",\"webhook_url\":\"http://127.0.0.1:$RECEIVER_PORT/webhook\",\"signing_secret\":\"…\"}'"
curl -s -X POST "$API/api/buckets/add" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$BUCKET_JSON" | pretty

# The first scan of the new bucket records its (empty) state; changes made after it are
# then seen one scan at a time.
first_scan_done () {
  curl -sf "$API/api/bucket-notifications/status" -H "Authorization: Bearer $TOKEN" \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.exit(JSON.parse(s).buckets.some(b=>b.last_scan_at)?0:1))'
}
wait_for "the first scan" 30 first_scan_done

step "Uploading, changing and deleting objects: the webhooks appear below as they arrive"
node scripts/demo/activity.ts "$S3_ENDPOINT" demo-bucket 5000

step "Bucket status"
bold "\$ curl $API/api/bucket-notifications/status -H \"Authorization: Bearer \$TOKEN\""
curl -s "$API/api/bucket-notifications/status" -H "Authorization: Bearer $TOKEN" | pretty

if [[ $ONCE == 1 ]]; then
  # created x3, updated x1, deleted x1
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse)
    const count = t => lines.filter(e => e.event_type === t).length
    const got = { created: count("created"), updated: count("updated"), deleted: count("deleted") }
    console.log("webhooks received:", JSON.stringify(got))
    process.exit(got.created >= 3 && got.updated >= 1 && got.deleted >= 1 ? 0 : 1)
  ' "$WORK/events.jsonl" || { KEEP_WORK=1; die "some webhooks did not arrive"; }
  exit 0
fi

step "The pipeline keeps running: drive it"
cat <<EOF
  API URL:        $API   (docs: $API/api/docs)
  client id:      $API_CLIENT_ID
  client secret:  $API_CLIENT_SECRET
  token:          $TOKEN
  Paste these lines into another terminal, then follow the README's "Driving the demo":
    export API=$API CLIENT_ID=$API_CLIENT_ID CLIENT_SECRET=$API_CLIENT_SECRET
    export TOKEN=$TOKEN
  Add or change objects in $S3_ENDPOINT/demo-bucket with any S3 client, for example:
    AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws --endpoint-url $S3_ENDPOINT s3 cp README.md s3://demo-bucket/
  Metrics at $API/metrics and http://127.0.0.1:$CONSUMER_PORT/metrics.
  Press Ctrl-C to stop everything.
EOF
wait
