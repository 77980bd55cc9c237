#!/usr/bin/env bash
# Search at scale: `chat all` (release) on a fresh PostgreSQL database, then
# `loadgen search`: 100 rooms holding MESSAGES messages (default 1,000,000)
# written with psql, a reader in half of the rooms, and QUERIES searches of
# each kind timed through `GET /chat/search`.
#
#   tools/bench/search.sh              # MESSAGES=1000000 QUERIES=400
#   SKIP_BUILD=1 tools/bench/search.sh
#   HTTP_PORT=8095 GRPC_PORT=50065 …    # beside another server
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/chat-target}
BIN="$CARGO_TARGET_DIR/release"
PG=postgres://postgres@127.0.0.1:5432
DB=chat_bench_search
DATA=$(mktemp -d)
HTTP_PORT=${HTTP_PORT:-8080}
GRPC_PORT=${GRPC_PORT:-50051}
if [ -z "${SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release --bin chat --bin loadgen)
fi
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
RATE_LIMITS=off RUST_LOG=warn DATABASE_URL="$PG/$DB" REDIS_URL=redis://127.0.0.1:6379 \
  REDIS_CHANNEL_PREFIX="search$$:" INTERNAL_SECRET="bench-internal-secret-0123456789" DATA_DIR="$DATA" \
  HTTP_ADDR=127.0.0.1:$HTTP_PORT GRPC_ADDR=127.0.0.1:$GRPC_PORT "$BIN/chat" all >"$DATA/chat.log" 2>&1 &
SERVER=$!
# KEEP_DB=1 keeps the database afterwards (to EXPLAIN a query, say).
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; [ -n "${KEEP_DB:-}" ] || psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -fs http://127.0.0.1:$HTTP_PORT/health >/dev/null && break; sleep 0.2; done
"$BIN/loadgen" search --gateway http://127.0.0.1:$HTTP_PORT --database "$PG/$DB" \
  --messages "${MESSAGES:-1000000}" --queries "${QUERIES:-400}"
