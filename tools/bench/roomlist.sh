#!/usr/bin/env bash
# The room list at scale: `chat all` (release) on a fresh PostgreSQL
# database, then `loadgen rooms`: 1,000 rooms (every other one private), a
# reader who belongs to 100 of them, every page of their listing timed.
#
#   tools/bench/roomlist.sh            # ROOMS=1000 MEMBERSHIPS=100 WALKS=20
#   SKIP_BUILD=1 tools/bench/roomlist.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/chat-target}
BIN="$CARGO_TARGET_DIR/release"
PG=postgres://postgres@127.0.0.1:5432
DB=chat_bench_rooms
DATA=$(mktemp -d)
if [ -z "${SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release --bin chat --bin loadgen)
fi
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
RATE_LIMITS=off RUST_LOG=warn DATABASE_URL="$PG/$DB" REDIS_URL=redis://127.0.0.1:6379 \
  REDIS_CHANNEL_PREFIX="roomlist$$:" INTERNAL_SECRET="bench-internal-secret-0123456789" DATA_DIR="$DATA" \
  HTTP_ADDR=127.0.0.1:8080 GRPC_ADDR=127.0.0.1:50051 "$BIN/chat" all >"$DATA/chat.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -fs http://127.0.0.1:8080/health >/dev/null && break; sleep 0.2; done
"$BIN/loadgen" rooms --gateway http://127.0.0.1:8080 --rooms "${ROOMS:-1000}" \
  --memberships "${MEMBERSHIPS:-100}" --walks "${WALKS:-20}" --page-sizes 10,50,100
