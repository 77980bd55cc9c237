#!/usr/bin/env bash
# Does the gateway tier scale out? The same clients and the same
# deliveries/s through 1, 2 and 4 `chat gateway` processes, CPU per delivery
# read as process CPU time (utime + stime, /proc/<pid>/stat) for each group
# of processes: the gateways together, the services (`chat all`, whose own
# gateway no client uses), the private Redis, the PostgreSQL backends of the
# benchmark database, and loadgen (kept out of every server figure). Process
# time, not wall-clock shares, so other work on the machine disturbs it
# less. The figures back docs/SCALING.md (see docs/BENCHMARKS.md).
#
#   tools/bench/scaling.sh                    # 3 repeats of 1, 2, 4 gateways
#   GATEWAY_COUNTS="1 4" REPEATS=1 tools/bench/scaling.sh
#
# Per repeat and gateway count, on a fresh database and a fresh Redis:
#   quiet-rooms  CLIENTS clients, one in each of as many rooms, nobody
#                sending, for QUIET s: the background cost of connections
#                (presence refresh, pings) and of followed rooms (each
#                gateway checks each room it follows every 5 s).
#   one-room     CLIENTS clients in 1 room, spread evenly over the gateways:
#                first QUIET s idle (connections, one room per gateway), then
#                ONE_ROOM_RATE msg/s from 10 senders for DURATION s.
#   small-rooms  CLIENTS clients in SMALL_ROOMS rooms, every room's members
#                spread evenly over the gateways (`--placement spread`),
#                SMALL_RATE msg/s from every client in turn for DURATION s.
# Then tools/bench/scaling_report.py prints the tables.
#
# Environment [default]:
#   BIN [~/.cache/scaling-bin]   where `chat` and `loadgen` are (release builds;
#                                copied into OUT first, so a rebuild changes nothing)
#   GATEWAY_COUNTS [1 2 4]  REPEATS [3]  DURATION [20]  QUIET [30] (0 skips the quiet windows)
#   CLIENTS [1000]  ONE_ROOM_RATE [50] (0 skips)  SMALL_ROOMS [50]  SMALL_RATE [625] (0 skips)
#   HTTP_PORT [8180]    the services' HTTP; gateways listen on the next ports
#   GRPC_PORT [50151]  REDIS_PORT [6391] (a private redis-server, started here)
#   PG [postgres://postgres@127.0.0.1:5432]  DB [chat_bench_scaling]  KEEP_DB [unset]
#   OUT [a new directory under /tmp]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${BIN:-$HOME/.cache/scaling-bin}
GATEWAY_COUNTS=${GATEWAY_COUNTS:-1 2 4}
REPEATS=${REPEATS:-3}
DURATION=${DURATION:-20}
QUIET=${QUIET:-30}
CLIENTS=${CLIENTS:-1000}
ONE_ROOM_RATE=${ONE_ROOM_RATE:-50}
SMALL_ROOMS=${SMALL_ROOMS:-50}
SMALL_RATE=${SMALL_RATE:-625}
HTTP_PORT=${HTTP_PORT:-8180}
GRPC_PORT=${GRPC_PORT:-50151}
REDIS_PORT=${REDIS_PORT:-6391}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-chat_bench_scaling}
OUT=${OUT:-$(mktemp -d /tmp/chat-scaling.XXXXXX)}
CLK_TCK=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)"

max_gateways=0
for g in $GATEWAY_COUNTS; do [ "$g" -le "$max_gateways" ] || max_gateways=$g; done
for port in $(seq "$HTTP_PORT" $((HTTP_PORT + max_gateways))) "$GRPC_PORT" "$REDIS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "127.0.0.1:$port is already in use; set HTTP_PORT, GRPC_PORT or REDIS_PORT" >&2
    exit 1
  fi
done

mkdir -p "$OUT/bin"
cp -p "$BIN/chat" "$BIN/loadgen" "$OUT/bin/"
BIN="$OUT/bin"
DATA=$(mktemp -d)
: >"$OUT/windows.tsv"
SERVICES="" GATEWAY_PIDS="" REDIS="" GATEWAYS=""
export PGOPTIONS="-c client_min_messages=warning"

pg() { psql "$PG/${2:-$DB}" -qAtc "$1"; }

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
  for p in $GATEWAY_PIDS $SERVICES $REDIS; do kill "$p" 2>/dev/null || true; done
  for p in $GATEWAY_PIDS $SERVICES $REDIS; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  SERVICES="" GATEWAY_PIDS="" REDIS="" GATEWAYS=""
}

cleanup() {
  stop_stack
  rm -rf "$DATA" "$OUT/bin"
  [ -n "${KEEP_DB:-}" ] || pg "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_stack() { # gateway count, log name
  local n=$1 log=$2 i env
  pg "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres
  pg "CREATE DATABASE $DB" postgres
  rm -rf "${DATA:?}"/*
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >>"$OUT/$log.redis.log" 2>&1 &
  REDIS=$!
  for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  env=(DATABASE_URL="$PG/$DB" REDIS_URL="redis://127.0.0.1:$REDIS_PORT" REDIS_CHANNEL_PREFIX="scaling$$:"
    INTERNAL_SECRET="bench-internal-secret-0123456789" DATA_DIR="$DATA" RATE_LIMITS=off ROOMS_PER_USER=100000
    RUST_LOG=warn)
  env "${env[@]}" HTTP_ADDR="127.0.0.1:$HTTP_PORT" GRPC_ADDR="127.0.0.1:$GRPC_PORT" \
    "$BIN/chat" all >>"$OUT/$log.services.log" 2>&1 &
  SERVICES=$!
  wait_http "http://127.0.0.1:$HTTP_PORT/health" "$SERVICES"
  for i in $(seq 1 "$n"); do
    env "${env[@]}" HTTP_ADDR="127.0.0.1:$((HTTP_PORT + i))" \
      AUTH_SERVICE_URL="http://127.0.0.1:$GRPC_PORT" PROFILE_SERVICE_URL="http://127.0.0.1:$GRPC_PORT" \
      ROOM_SERVICE_URL="http://127.0.0.1:$GRPC_PORT" MESSAGING_SERVICE_URL="http://127.0.0.1:$GRPC_PORT" \
      "$BIN/chat" gateway >>"$OUT/$log.gateway-$i.log" 2>&1 &
    GATEWAY_PIDS="$GATEWAY_PIDS $!"
    GATEWAYS="$GATEWAYS${GATEWAYS:+,}http://127.0.0.1:$((HTTP_PORT + i))"
  done
  for i in $(seq 1 "$n"); do
    wait_http "http://127.0.0.1:$((HTTP_PORT + i))/health" "$(echo $GATEWAY_PIDS | cut -d' ' -f"$i")"
  done
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
machine_ticks() {
  local cpu user nice system idle iowait irq softirq steal _
  read -r cpu user nice system idle iowait irq softirq steal _ </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}
# Context switches of every thread of the pids, voluntary and not.
switches() {
  local sum=0 p
  for p in "$@"; do
    sum=$((sum + $(cat /proc/"$p"/task/*/status 2>/dev/null | awk '/ctxt_switches:/ {n += $2} END {print n + 0}')))
  done
  echo "$sum"
}
# Resident memory of the pids, KiB.
rss() {
  local sum=0 p kib
  for p in "$@"; do
    kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null) || continue
    sum=$((sum + ${kib:-0}))
  done
  echo "$sum"
}
# The benchmark database's backends as pid:ticks (they may come and go).
pg_ticks() {
  local p
  for p in $(pg "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()"); do
    printf '%s:%s ' "$p" "$(ticks "$p")"
  done
}

# A window's start or end: one line of the window file.
mark() { # start|end loadgen-pid
  [ "$1" != start ] || redis-cli -p "$REDIS_PORT" config resetstat >/dev/null
  echo "$1 $(date +%s.%N) gw=$(ticks $GATEWAY_PIDS) svc=$(ticks "$SERVICES") redis=$(ticks "$REDIS")" \
    "lg=$(ticks "$2") machine=$(machine_ticks) gwcs=$(switches $GATEWAY_PIDS) gwrss=$(rss $GATEWAY_PIDS) wal=$(pg 'SELECT pg_current_wal_lsn()') pg=$(pg_ticks | tr ' ' ',')"
  if [ "$1" = end ]; then
    redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | grep '^cmdstat_' | sed 's/^/redis /'
  fi
}

# step REPEAT GATEWAYS NAME [WINDOW:START-LINE:END-LINE …] -- loadgen args.
# Each window runs from the first loadgen line containing START-LINE to the
# first containing END-LINE; loadgen's output goes to OUT/<run>.<name>.out.
step() {
  local rep=$1 n=$2 name=$3 base lg line w
  shift 3
  local windows=()
  while [ "$1" != -- ]; do windows+=("$1"); shift; done
  shift
  base="$OUT/r$rep-g$n.$name"
  echo "--- repeat $rep, $n gateway(s), $name: $(uptime | sed 's/.*load/load/')"
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)" >"$base.windows"
  exec 3< <(exec "$BIN/loadgen" "$@" 2>&1)
  lg=$!
  while IFS= read -r -u 3 line; do
    printf '%s\n' "$line" >>"$base.out"
    for w in "${windows[@]}"; do
      IFS=: read -r wname wstart wend <<<"$w"
      case $line in
        *"$wstart"*) echo "window $wname" >>"$base.windows"; mark start "$lg" >>"$base.windows" ;;
      esac
      case $line in
        *"$wend"*) mark end "$lg" >>"$base.windows" ;;
      esac
    done
  done
  exec 3<&-
  wait "$lg" || echo "loadgen exited with $?" | tee -a "$base.out"
  printf '%s\t%s\t%s\t%s\n' "$rep" "$n" "$name" "$base" >>"$OUT/windows.tsv"
  grep -E '^(deliveries|send→receive|sent )' "$base.out" | sed 's/^/    /' || true
}

{
  echo "scaling: $(date -u '+%F %T UTC'); $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "chat $(sha256sum "$BIN/chat" | cut -c1-12) (built $(date -u -r "$BIN/chat" '+%F %T UTC')), PostgreSQL $(pg 'SHOW server_version' postgres), $(redis-server --version | cut -d' ' -f1-3)"
  echo "gateways: $GATEWAY_COUNTS; repeats: $REPEATS; clients: $CLIENTS; one room at $ONE_ROOM_RATE msg/s; $SMALL_ROOMS rooms at $SMALL_RATE msg/s; $DURATION s sending; quiet $QUIET s; out: $OUT"
} | tee "$OUT/header.txt"

# Each repeat starts one gateway count later, so a slow drift in what else
# the machine does is not pinned on one count.
read -r -a counts <<<"$GATEWAY_COUNTS"
for rep in $(seq 1 "$REPEATS"); do
  for i in "${!counts[@]}"; do
    n=${counts[$(((i + rep - 1) % ${#counts[@]}))]}
    start_stack "$n" "r$rep-g$n"
    [ "$QUIET" = 0 ] || step "$rep" "$n" quiet-rooms "quiet:clients joined in :sending for" -- \
      fanout --gateways "$GATEWAYS" --clients "$CLIENTS" --rooms "$CLIENTS" --users 2 --senders 1 \
      --rate 1 --duration 1 --settle "$QUIET" --linger 3
    quiet=("quiet:clients joined in :sending for")
    [ "$QUIET" != 0 ] || quiet=()
    [ "$ONE_ROOM_RATE" = 0 ] || step "$rep" "$n" one-room "${quiet[@]}" "send:sending for:sent " -- \
      fanout --gateways "$GATEWAYS" --clients "$CLIENTS" --rooms 1 --placement spread \
      --rate "$ONE_ROOM_RATE" --senders 10 --duration "$DURATION" --settle "$((QUIET > 0 ? QUIET : 1))" --linger 3
    [ "$SMALL_RATE" = 0 ] || step "$rep" "$n" small-rooms "send:sending for:sent " -- \
      fanout --gateways "$GATEWAYS" --clients "$CLIENTS" --rooms "$SMALL_ROOMS" --placement spread \
      --rate "$SMALL_RATE" --senders "$CLIENTS" --duration "$DURATION" --settle 1 --linger 3
    echo "    messages stored: $(pg 'SELECT count(*) FROM messaging.messages')," \
      "$(pg "SELECT pg_total_relation_size('messaging.messages') / greatest(count(*), 1) FROM messaging.messages") bytes each (table + indexes)" |
      tee "$OUT/r$rep-g$n.db"
    stop_stack
  done
done

python3 "$ROOT/tools/bench/scaling_report.py" "$OUT" | tee "$OUT/report.md"
