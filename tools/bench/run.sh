#!/usr/bin/env bash
# Side by side: this project against the stack a team would otherwise pick
# (Node socket.io 4.8 + @socket.io/redis-adapter, every message committed to
# PostgreSQL; tools/bench/peers/node), both driven by tools/loadgen, one
# stack at a time on the same PostgreSQL and Redis. Ends with both stacks'
# tables (tools/bench/report.py); the raw loadgen output is kept in a log.
#
#   tools/bench/run.sh [fan-out rate ...]        (msg/s; default $RATES or 50 100 200 300)
#
# This project: `chat all` (the services + gateway A on :8080, gRPC :50051)
# and `chat gateway` (B on :8081). Node: `node server.js` on :9080 and :9081.
# Steps, per stack: fan-out (1 room, clients over both nodes) at each rate;
# many small rooms; persist (gRPC, this project only); then idle memory per
# connection on one node, on a freshly started stack for each count.
#
# Environment [default]:
#   STACKS [ours node]         stacks to run, in order
#   DURATION [20]              seconds of sending per fan-out step
#   CLIENTS [1000]             Socket.IO clients per fan-out step
#   SENDERS [10]               sending clients in the one-room fan-out steps
#   SMALL_ROOMS [50] SMALL_RATE [2500] SMALL_SENDERS [1000]
#                              the many-small-rooms step (1000 clients in rooms
#                              of 20, every client sending 2.5 msg/s: ~50k
#                              deliveries/s; SMALL_RATE=0 skips). Fewer senders
#                              send faster each: a socket's sends to one room are
#                              handled one at a time on both stacks, so a sender
#                              tops out at 1 / (send latency) msg/s.
#   IDLE_CLIENTS [10000]       idle connection counts, e.g. "1000 10000 18000" ("" skips)
#   PERSIST_DURATION [15]      seconds per persist step (0 skips)
#   LOGIN_RATE [200]           this project only: the first fan-out rate again,
#                              during a storm of this many login attempts/s
#                              (argon2 on the auth service; 0 skips)
#   SKIP_BUILD [unset]         1: use the binaries already in $CARGO_TARGET_DIR/release
#   CARGO_TARGET_DIR [~/.cache/chat-release]
#   OUT [a new directory under /tmp]   raw log (loadgen.log), server logs, per-step files
#   KEEP_DB [unset]            1: keep the benchmark databases afterwards
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
START=$(date +%s)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat-release}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p chat -p loadgen
BIN="$CARGO_TARGET_DIR/release"
PEER="$ROOT/tools/bench/peers/node"
[ -d "$PEER/node_modules" ] || (cd "$PEER" && npm ci --no-audit --no-fund)
# 20,000 descriptors per process here: enough for 18,000 idle connections.
ulimit -n "$(ulimit -Hn)"

# Both stacks use fixed ports: refuse to start beside another run.
for port in 8080 8081 50051 9080 9081; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "127.0.0.1:$port is already in use (another benchmark or server running?)" >&2
    exit 1
  fi
done

RATES=${*:-${RATES-50 100 200 300}}
STACKS=${STACKS:-"ours node"}
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-1000}
SENDERS=${SENDERS:-10}
SMALL_ROOMS=${SMALL_ROOMS:-50}
SMALL_RATE=${SMALL_RATE:-2500}
SMALL_SENDERS=${SMALL_SENDERS:-1000}
IDLE_CLIENTS=${IDLE_CLIENTS-10000}
PERSIST_DURATION=${PERSIST_DURATION:-15}
LOGIN_RATE=${LOGIN_RATE:-200}
OUT=${OUT:-$(mktemp -d /tmp/chat-bench.XXXXXX)}
mkdir -p "$OUT/bin"
# A copy, so a rebuild into the target directory during the run changes nothing.
BUILT=$(date -u -r "$BIN/chat" "+%F %T UTC")
cp "$BIN/chat" "$BIN/loadgen" "$OUT/bin/"
BIN="$OUT/bin"
: > "$OUT/steps.tsv"
LOG="$OUT/loadgen.log"
: > "$LOG"

PG="postgres://postgres@127.0.0.1:5432"
export REDIS_URL="redis://127.0.0.1:6379" RUST_LOG=warn
# loadgen acts as thousands of users from one address: rate limits off (size caps stay).
export RATE_LIMITS=off
DATA=$(mktemp -d)
SERVER_PIDS=""

fresh_db() {
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" 2>&1 | grep -v NOTICE || true
}

wait_http() { # url pid
  for _ in $(seq 1 300); do
    curl -sf "$1" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "server (pid $2) exited before $1 answered" >&2; return 1; }
    sleep 0.2
  done
  echo "$1 did not answer within 60 s" >&2
  return 1
}

stop_stack() {
  local p
  for p in $SERVER_PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $SERVER_PIDS; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  SERVER_PIDS=""
  sleep 2
}

cleanup() {
  stop_stack
  rm -rf "$DATA" "$OUT/bin"
  if [ -z "${KEEP_DB:-}" ]; then
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS chat_bench WITH (FORCE)" \
      -c "DROP DATABASE IF EXISTS chat_bench_node WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# Sets SERVER_PIDS (every server process of the stack), GATEWAYS (both
# nodes), IDLE_URL and IDLE_PID (the node the idle step measures).
start_ours() {
  fresh_db chat_bench
  local env=(DATABASE_URL="$PG/chat_bench" REDIS_CHANNEL_PREFIX="bench$$:"
    INTERNAL_SECRET="bench-internal-secret-0123456789" DATA_DIR="$DATA")
  env "${env[@]}" HTTP_ADDR=127.0.0.1:8080 GRPC_ADDR=127.0.0.1:50051 "$BIN/chat" all >>"$OUT/ours-a.log" 2>&1 &
  local all=$!
  SERVER_PIDS="$all"
  wait_http http://127.0.0.1:8080/health "$all"
  env "${env[@]}" HTTP_ADDR=127.0.0.1:8081 AUTH_SERVICE_URL=http://127.0.0.1:50051 \
    PROFILE_SERVICE_URL=http://127.0.0.1:50051 ROOM_SERVICE_URL=http://127.0.0.1:50051 \
    MESSAGING_SERVICE_URL=http://127.0.0.1:50051 "$BIN/chat" gateway >>"$OUT/ours-b.log" 2>&1 &
  local gw=$!
  SERVER_PIDS="$all $gw"
  wait_http http://127.0.0.1:8081/health "$gw"
  GATEWAYS=http://127.0.0.1:8080,http://127.0.0.1:8081 IDLE_URL=http://127.0.0.1:8081 IDLE_PID=$gw
}

start_node() {
  fresh_db chat_bench_node
  local env=(DATABASE_URL="$PG/chat_bench_node" REDIS_KEY="bench-node$$" TOKEN_SECRET="bench-node-secret-$$")
  (cd "$PEER" && exec env "${env[@]}" PORT=9080 node server.js >>"$OUT/node-a.log" 2>&1) &
  local a=$!
  (cd "$PEER" && exec env "${env[@]}" PORT=9081 node server.js >>"$OUT/node-b.log" 2>&1) &
  local b=$!
  SERVER_PIDS="$a $b"
  wait_http http://127.0.0.1:9080/health "$a"
  wait_http http://127.0.0.1:9081/health "$b"
  GATEWAYS=http://127.0.0.1:9080,http://127.0.0.1:9081 IDLE_URL=http://127.0.0.1:9081 IDLE_PID=$b
}

# utime + stime (fields 14 and 15 of /proc/<pid>/stat) summed over the pids.
ticks() {
  local sum=0 p s f
  for p in "$@"; do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<<"${s##*) }"
    sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}
# Busy ticks of the whole machine (everything but idle and iowait), from /proc/stat.
machine_ticks() {
  local cpu user nice system idle iowait irq softirq steal _
  read -r cpu user nice system idle iowait irq softirq steal _ </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}
# `start|end <stack's server ticks> <machine busy ticks> <unix time>`, then
# `infra-start|infra-end pid:ticks …` for each PostgreSQL and Redis process
# (per process, as PostgreSQL's workers come and go).
snapshot() {
  local p
  echo "$1 $(ticks $SERVER_PIDS) $(machine_ticks) $(date +%s.%N)"
  echo "infra-$1 $(for p in $(pgrep -x postgres) $(pgrep -x redis-server); do printf '%s:%s ' "$p" "$(ticks "$p")"; done)"
}

# run_step STACK STEP KIND LABEL LIMIT -- loadgen arguments. Fan-out steps
# count CPU from "N clients joined" (setup excluded) until loadgen exits;
# loadgen's own CPU in that window is its total (bash `times` once it has
# been waited for) less what it had used at the start.
run_step() {
  local stack=$1 step=$2 kind=$3 label=$4 limit=$5
  shift 6
  local base="$OUT/$stack.$step"
  printf '%s\t%s\t%s\t%s\n' "$stack" "$step" "$kind" "$label" >>"$OUT/steps.tsv"
  printf '\n### [%s] %s\n$ loadgen %s\n' "$stack" "$label" "$*" | tee -a "$LOG"
  : >"$base.cpu"
  : >"$base.out"
  {
    rc=0
    timeout "$limit" "$BIN/loadgen" "$@" 2>&1 &
    echo "$!" >"$base.tpid"
    wait "$!" || rc=$?
    echo "rc=$rc"
    times >"$base.times" # in this shell: a pipe or $(…) would ask a fresh subshell
    echo "loadgen-times $(tail -n 1 "$base.times")"
  } | while IFS= read -r line; do
    case $line in
      *" clients joined in "*)
        snapshot start >>"$base.cpu"
        echo "lgstart $(ticks $(pgrep -P "$(cat "$base.tpid")"))" >>"$base.cpu" ;;
      "loadgen-times "*)
        echo "lgtotal ${line#loadgen-times }" >>"$base.cpu"
        continue ;;
    esac
    printf '%s\n' "$line" | tee -a "$LOG" "$base.out"
  done
  rm -f "$base.tpid" "$base.times"
  [ "$kind" != fanout ] || snapshot end >>"$base.cpu"
  printf '  (step on %s ended: %s)\n' "$stack" "$(date -u +%T)"
  sleep 2
}

comma() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

run_stack() {
  local stack=$1 rate n
  echo; echo "===== $stack: starting ====="
  "start_$stack"
  echo "server pids: $SERVER_PIDS"
  for rate in $RATES; do
    run_step "$stack" "fanout-$rate" fanout \
      "fan-out $rate msg/s, 1 room of $(comma "$CLIENTS") (~$(comma $((rate * CLIENTS))) deliveries/s)" \
      $((DURATION + 240)) -- fanout --gateways "$GATEWAYS" --clients "$CLIENTS" --rooms 1 \
      --rate "$rate" --senders "$SENDERS" --duration "$DURATION"
  done
  if [ "$stack" = ours ] && [ "$LOGIN_RATE" != 0 ]; then
    rate=${RATES%% *}
    echo "login storm: $LOGIN_RATE attempts/s on gateway A, from when every fan-out client has joined until the step ends" | tee -a "$LOG"
    rm -f "$OUT/storm.go"
    "$BIN/loadgen" logins --gateway http://127.0.0.1:8080 --rate "$LOGIN_RATE" --duration 900 \
      --start-when "$OUT/storm.go" >"$OUT/ours.logins.out" 2>&1 &
    local storm=$!
    ( for _ in $(seq 1 1200); do
        grep -qs ' clients joined in ' "$OUT/ours.fanout-$rate-logins.out" && break
        sleep 0.1
      done
      touch "$OUT/storm.go" ) &
    sleep 3 # the storm's accounts
    run_step "$stack" "fanout-$rate-logins" fanout \
      "fan-out $rate msg/s as above, during $LOGIN_RATE login attempts/s" \
      $((DURATION + 240)) -- fanout --gateways "$GATEWAYS" --clients "$CLIENTS" --rooms 1 \
      --rate "$rate" --senders "$SENDERS" --duration "$DURATION"
    kill -TERM "$storm" 2>/dev/null || true
    wait "$storm" 2>/dev/null || true
    tee -a "$LOG" <"$OUT/ours.logins.out"
  fi
  n=$((CLIENTS / SMALL_ROOMS))
  [ "$SMALL_RATE" = 0 ] || run_step "$stack" "rooms-$SMALL_ROOMS" fanout \
    "many small rooms: $SMALL_ROOMS rooms of $n, $(comma "$SMALL_RATE") msg/s (~$(comma $((SMALL_RATE * n))) deliveries/s)" \
    $((DURATION + 240)) -- fanout --gateways "$GATEWAYS" --clients "$CLIENTS" --rooms "$SMALL_ROOMS" \
    --rate "$SMALL_RATE" --senders "$SMALL_SENDERS" --duration "$DURATION"
  if [ "$stack" = ours ] && [ "$PERSIST_DURATION" != 0 ]; then
    for n in 10 1; do
      run_step ours "persist-$n" persist "persist, $n room$([ "$n" = 1 ] || echo s), 64 callers" \
        $((PERSIST_DURATION + 120)) -- persist --gateway http://127.0.0.1:8080 --grpc http://127.0.0.1:50051 \
        --rooms "$n" --concurrency 64 --duration "$PERSIST_DURATION"
    done
  fi
  stop_stack
  for n in $IDLE_CLIENTS; do
    echo "===== $stack: fresh start for $n idle connections ====="
    "start_$stack"
    run_step "$stack" "idle-$n" idle "idle: $(comma "$n") connections on one node" 600 -- \
      idle --gateway "$IDLE_URL" --clients "$n" --pid "$IDLE_PID"
    stop_stack
  done
}

{
  echo "chat suite vs Node socket.io peer — $(date -u '+%F %T UTC')"
  echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB;" \
    "$(psql -h 127.0.0.1 -U postgres -Atc 'SHOW server_version') PostgreSQL, Redis $(redis-cli info server | awk -F: '/redis_version/{print $2}' | tr -d '\r')," \
    "node $(node --version), socket.io $(node -p "require('$PEER/node_modules/socket.io/package.json').version")"
  echo "this project: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- '*.rs' '*.toml' Cargo.lock migrations proto 2>/dev/null || echo ' + uncommitted Rust changes'), binaries from $CARGO_TARGET_DIR/release (built $BUILT; chat $(sha256sum "$BIN/chat" | cut -c1-12))"
  echo "rates: $RATES msg/s; $DURATION s per fan-out step; idle: $IDLE_CLIENTS; stacks: $STACKS; out: $OUT"
} | tee "$OUT/header.txt" | tee -a "$LOG"

# Anything else running skews every figure: say so up front (the step
# table also shows how busy the whole machine was during each step).
b0=$(machine_ticks); sleep 2; b1=$(machine_ticks)
busy=$(( (b1 - b0) * 100 / (2 * $(getconf CLK_TCK)) ))
if [ "$busy" -gt 25 ]; then
  echo "WARNING: before the run, other processes already keep $((busy / 100)).$(printf %02d $((busy % 100))) cores busy; the figures will be skewed:" | tee -a "$OUT/header.txt"
  top -b -n 1 -o %CPU | sed -n '7,12p' | tee -a "$OUT/header.txt"
fi

for stack in $STACKS; do run_stack "$stack"; done

echo
cat "$OUT/header.txt"
echo
python3 "$ROOT/tools/bench/report.py" "$OUT" | tee "$OUT/report.md"
echo "whole run: $(( $(date +%s) - START )) s; raw loadgen output: $LOG; tables: $OUT/report.md"
