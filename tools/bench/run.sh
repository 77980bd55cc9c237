#!/usr/bin/env bash
# Reproduces docs/BENCHMARKS.md: release binaries, PostgreSQL + Redis, one
# `chat all` process (services + gateway A on :8080) and a second gateway
# process (B on :8081), then loadgen's three measurements.
#   tools/bench/run.sh [fanout-rate ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chat-release}"
cargo build --release -q -p chat -p loadgen
BIN="$CARGO_TARGET_DIR/release"
ulimit -n "$(ulimit -Hn)"
DB=chat_bench
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" REDIS_URL="redis://127.0.0.1:6379"
export REDIS_CHANNEL_PREFIX="bench$$:" INTERNAL_SECRET="bench-internal-secret-0123456789" RUST_LOG=warn
DATA=$(mktemp -d)
DATA_DIR="$DATA" HTTP_ADDR=127.0.0.1:8080 GRPC_ADDR=127.0.0.1:50051 "$BIN/chat" all & ALL=$!
sleep 2
DATA_DIR="$DATA" HTTP_ADDR=127.0.0.1:8081 AUTH_SERVICE_URL=http://127.0.0.1:50051 PROFILE_SERVICE_URL=http://127.0.0.1:50051 \
  ROOM_SERVICE_URL=http://127.0.0.1:50051 MESSAGING_SERVICE_URL=http://127.0.0.1:50051 "$BIN/chat" gateway & GW=$!
trap 'kill $ALL $GW 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf localhost:8080/health >/dev/null && curl -sf localhost:8081/health >/dev/null && break; sleep 0.2; done

RATES=${*:-"50 100 150"}
for rate in $RATES; do
  echo "### fanout: 1000 clients, 1 room, 2 gateways, $rate msg/s"
  "$BIN/loadgen" fanout --gateways http://127.0.0.1:8080,http://127.0.0.1:8081 --clients 1000 --rooms 1 --rate "$rate" --senders 10 --duration 20
done
echo "### idle: 10000 connections to gateway B (pid $GW)"
"$BIN/loadgen" idle --gateway http://127.0.0.1:8081 --clients 10000 --pid "$GW"
echo "### persist: 10 rooms"
"$BIN/loadgen" persist --rooms 10 --concurrency 64 --duration 15
echo "### persist: 1 room"
"$BIN/loadgen" persist --rooms 1 --concurrency 64 --duration 15
