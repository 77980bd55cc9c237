#!/usr/bin/env bash
# Bytes per stored message on PostgreSQL: the messaging schema's migrations
# applied to a private database, MESSAGES messages written into ROOMS rooms
# (interleaved, as live traffic arrives, so the (room_id, seq) index splits
# pages as it does in production), then the size of the table, its TOAST and
# every index, divided by the count. Text as in tools/bench/search.sh: 6-15
# made-up words at Zipf-like frequencies (about 80 bytes), and a web-app
# client_msg_id (`c-` and 24 hex digits) on every message. Then the WAL
# each further message writes, inserted one at a time as the messaging
# service does (the room's seq bumped and the row inserted in one
# statement), read from EXPLAIN (ANALYZE, WAL) so other databases' writes on
# a shared server don't count: WAL_MESSAGES right after a CHECKPOINT (every
# page's first change since then is logged whole) and as many again after
# those. No server needed.
#
#   tools/bench/rowsize.sh                 # MESSAGES=1000000 ROOMS=1000 WAL_MESSAGES=5000
#   PG=postgres://postgres@127.0.0.1:5432 KEEP_DB=1 tools/bench/rowsize.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-chat_bench_rowsize}
MESSAGES=${MESSAGES:-1000000}
ROOMS=${ROOMS:-1000}
WAL_MESSAGES=${WAL_MESSAGES:-5000}
export PGOPTIONS="-c client_min_messages=warning"
q() { psql "$PG/$DB" -v ON_ERROR_STOP=1 -qAt "$@"; }

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
trap '[ -n "${KEEP_DB:-}" ] || psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
for f in "$ROOT"/migrations/messaging/postgres/*.sql; do
  q -c "CREATE SCHEMA IF NOT EXISTS messaging; SET search_path TO messaging;" -f "$f"
done

started=$(date +%s)
q -c "SET search_path TO messaging;
  CREATE TABLE vocab AS
    SELECT i AS rank, translate(substr(md5(i::text), 1, 4 + i % 5), '0123456789', 'ghijklmnop') || 'a' AS word
    FROM generate_series(1, 20000) i;
  CREATE UNIQUE INDEX ON vocab (rank);
  INSERT INTO messages (room_id, seq, user_id, content, client_msg_id, created_at)
  SELECT 1 + g % $ROOMS, g / $ROOMS + 1, 1 + (g::bigint * 7919) % 100000,
         (SELECT string_agg(v.word, ' ')
          FROM (SELECT least(20000, floor(exp(random() * ln(20000)))::int + 0 * g) AS r
                FROM generate_series(1, 6 + (g % 10)) k) x
          JOIN vocab v ON v.rank = x.r),
         'c-' || substr(md5(g::text), 1, 24),
         1700000000000000 + g * 1000
  FROM generate_series(0, $MESSAGES - 1) g;
  INSERT INTO room_sequences (room_id, last_seq)
    SELECT room_id, max(seq) FROM messages GROUP BY room_id;" -c "VACUUM ANALYZE messaging.messages"
echo "wrote $MESSAGES messages into $ROOMS rooms in $(( $(date +%s) - started )) s"

q -F ' ' -c "SET search_path TO messaging;
  SELECT 'messages', count(*), round(avg(octet_length(content))), round(avg(pg_column_size(search))) FROM messages;" |
  awk '{printf "%s: %d rows, content %d bytes on average, tsvector %d bytes\n", $1, $2, $3, $4}'
echo "bytes per message, by relation:"
q -F $'\t' -c "SET search_path TO messaging;
  WITH n AS (SELECT count(*)::numeric AS n FROM messages),
  parts AS (
    SELECT 'heap' AS part, pg_relation_size('messages') AS bytes
    UNION ALL SELECT 'toast', pg_total_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'messages'::regclass AND reltoastrelid <> 0
    UNION ALL SELECT 'index ' || indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index WHERE indrelid = 'messages'::regclass
    UNION ALL SELECT 'total (pg_total_relation_size)', pg_total_relation_size('messages'))
  SELECT part, bytes, round(bytes / n.n, 1) FROM parts, n ORDER BY bytes DESC;" |
  awk -F '\t' '{printf "  %-45s %12d bytes  %7.1f per message\n", $1, $2, $3}'

# One message per statement, each statement's WAL from its plan (the commit
# record, about 50 bytes per transaction, is not included).
wal_pass() {
  q -c "CREATE TEMP TABLE w (bytes bigint, fpi bigint, records bigint);
    DO \$\$
    DECLARE j json; g bigint; room bigint;
    BEGIN
      FOR i IN 1..$WAL_MESSAGES LOOP
        g := $MESSAGES + (random() * 1e9)::bigint;
        room := 1 + g % $ROOMS;
        EXECUTE format(\$q\$EXPLAIN (ANALYZE, WAL, FORMAT JSON)
          WITH s AS (INSERT INTO messaging.room_sequences (room_id, last_seq) VALUES (%s, 1)
                     ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + 1 RETURNING last_seq)
          INSERT INTO messaging.messages (room_id, seq, user_id, content, client_msg_id, created_at)
          SELECT %s, s.last_seq, %s, %L, %L, %s FROM s\$q\$,
          room, room, 1 + g % 100000,
          (SELECT string_agg(v.word, ' ') FROM (SELECT least(20000, floor(exp(random() * ln(20000)))::int + 0 * g) AS r
             FROM generate_series(1, 6 + (g % 10)) k) x JOIN messaging.vocab v ON v.rank = x.r),
          'c-' || substr(md5(g::text), 1, 24), 1700000000000000 + g) INTO j;
        INSERT INTO w VALUES ((j->0->'Plan'->>'WAL Bytes')::bigint, (j->0->'Plan'->>'WAL FPI')::bigint,
                              (j->0->'Plan'->>'WAL Records')::bigint);
      END LOOP;
    END \$\$;" -c "SELECT round(avg(bytes)), round(avg(fpi), 3), round(avg(records), 1) FROM w" -F ' ' |
    awk -v what="$1" '{printf "WAL per message, %s: %d bytes (%s full-page images, %s records)\n", what, $1, $2, $3}'
}
q -c "CHECKPOINT"
wal_pass "the first $WAL_MESSAGES after a checkpoint"
wal_pass "the next $WAL_MESSAGES"
