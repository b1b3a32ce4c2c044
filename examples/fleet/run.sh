#!/usr/bin/env bash
# A portcullis fleet on one machine, to watch a revocation reach every
# instance: redis-server, the dev issuer, an echo backend and three gateways
# on examples/fleet/fleet.json, each on a free port, in a temp dir. It mints a
# token, shows 200 from all three gateways (and the rate limit they count
# together), runs `portcullis revoke --sub …`, and measures how long until all
# three answer 401. Everything it started is stopped on exit (Ctrl-C too).
#
# Needs bash, node, curl and redis-server. Runs this checkout's build
# (dist/, `npm run build`) when there is one, else `portcullis` from PATH;
# PORTCULLIS_MAIN=/path/to/main.js picks another build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
subject="U2alice000000000000000000000"
project="P2portcullisdemo0000000000000"

if [[ -n "${PORTCULLIS_MAIN:-}" ]]; then
  portcullis=(node "$PORTCULLIS_MAIN")
elif [[ -f "$here/../../dist/src/cli/main.js" ]]; then
  portcullis=(node "$here/../../dist/src/cli/main.js")
elif command -v portcullis >/dev/null; then
  portcullis=(portcullis)
else
  echo "portcullis not found: run \`npm run build\` in the checkout, or install it (npm install -g portcullis)" >&2
  exit 1
fi
for tool in node curl redis-server; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (redis-server: apt-get install redis-server, brew install redis)" >&2; exit 1; }
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-fleet.XXXXXX")"
pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $status -ne 0 ]]; then
    for log in "$tmp"/*.log; do [[ -s $log ]] && { echo "--- $(basename "$log")" >&2; tail -n 20 "$log" >&2; }; done
  fi
  rm -rf "$tmp"
  echo "stopped every process this script started (${#pids[@]})"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Milliseconds since the epoch, without a fork where bash has EPOCHREALTIME (bash 5).
now_ms() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then
    local micros="${EPOCHREALTIME/[.,]/}"
    echo $((micros / 1000))
  else
    node -e 'process.stdout.write(String(Date.now()))'
  fi
}

free_port() {
  node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); });'
}

# Waits until `curl` gets an answer whose body contains the text.
wait_for() {
  local what=$1 url=$2 text=$3 body
  for _ in $(seq 1 200); do
    body=$(curl -s --max-time 1 "$url" 2>/dev/null || true)
    if [[ $body == *"$text"* ]]; then return 0; fi
    sleep 0.05
  done
  echo "$what did not come up ($url)" >&2
  return 1
}

redis_port=$(free_port)
issuer_port=$(free_port)
backend_port=$(free_port)
gateway_ports=("$(free_port)" "$(free_port)" "$(free_port)")

mkdir -p "$tmp/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes --save '' --loglevel warning >"$tmp/redis.log" 2>&1 &
pids+=($!)
echo "redis-server on 127.0.0.1:$redis_port (pid $!)"

"${portcullis[@]}" issuer --port "$issuer_port" --data-dir "$tmp/issuer" --log-level warn >"$tmp/issuer.log" 2>&1 &
pids+=($!)
echo "dev issuer on http://127.0.0.1:$issuer_port (pid $!)"

node -e '
  const port = Number(process.argv[1]);
  require("node:http").createServer((req, res) => {
    const body = JSON.stringify({ path: req.url, user: req.headers["x-user"] ?? null });
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  }).listen(port, "127.0.0.1");
' "$backend_port" >"$tmp/backend.log" 2>&1 &
pids+=($!)
echo "echo backend on http://127.0.0.1:$backend_port (pid $!)"

config="$tmp/fleet.json"
sed -e "s/127\.0\.0\.1:6379/127.0.0.1:$redis_port/g" \
    -e "s/127\.0\.0\.1:4000/127.0.0.1:$issuer_port/g" \
    -e "s/127\.0\.0\.1:9000/127.0.0.1:$backend_port/g" \
    "$here/fleet.json" >"$config"

wait_for "the issuer" "http://127.0.0.1:$issuer_port/v2/keys/$project" '"keys"'
for i in 0 1 2; do
  "${portcullis[@]}" run -c "$config" --port "${gateway_ports[$i]}" >"$tmp/gateway-$((i + 1)).log" 2>&1 &
  pids+=($!)
  echo "gateway $((i + 1)) on http://127.0.0.1:${gateway_ports[$i]} (pid $!)"
done
for i in 0 1 2; do
  # Ready, and holding the revocation set from Redis.
  wait_for "gateway $((i + 1))" "http://127.0.0.1:${gateway_ports[$i]}/__ready" '"state":"synced"'
done

token=$("${portcullis[@]}" token --issuer "http://127.0.0.1:$issuer_port" --sub "$subject")
echo
echo "a token for $subject, sent to each gateway:"
for i in 0 1 2; do
  status=$(curl -s -o /dev/null -D "$tmp/headers" -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:${gateway_ports[$i]}/api/me")
  limit=$(grep -i '^ratelimit:' "$tmp/headers" | tr -d '\r' || true)
  echo "  gateway $((i + 1)): $status   ${limit:-}"
  if [[ $status != 200 ]]; then echo "expected 200 from gateway $((i + 1))" >&2; exit 1; fi
done
echo "  (one bucket for the fleet: r counts down across the three gateways)"

echo
echo "\$ portcullis revoke -c fleet.json --sub $subject"
started=$(now_ms)
"${portcullis[@]}" revoke -c "$config" --sub "$subject"
exited=$(now_ms)

refused=(0 0 0)
count=0
while ((count < 3)); do
  for i in 0 1 2; do
    ((refused[i] == 0)) || continue
    body=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:${gateway_ports[$i]}/api/me" -w '\n%{http_code}')
    if [[ ${body##*$'\n'} == 401 && $body == *'"token_revoked"'* ]]; then
      refused[i]=$(now_ms)
      count=$((count + 1))
    fi
  done
  if ((count < 3)); then
    if (($(now_ms) - exited > 10000)); then
      echo "not every gateway refused the revoked token within 10 s" >&2
      exit 1
    fi
    sleep 0.005
  fi
done
# Each curl costs a few milliseconds of its own: the gateways are asked one after the other.
echo
for i in 0 1 2; do echo "  gateway $((i + 1)): 401 token_revoked ($((refused[i] - exited)) ms after the revoke exited)"; done
last=$(printf '%s\n' "${refused[@]}" | sort -n | tail -n 1)
echo "all three gateways answered 401 $((last - exited)) ms after \`portcullis revoke\` exited ($((last - started)) ms after it was started, node start-up included)"
