//! The messaging service's tables: `messages` and `room_sequences`.
//!
//! A message's `seq` comes from bumping its room's row in `room_sequences`
//! inside the insert's transaction: the row lock (PostgreSQL) or the write
//! lock (SQLite) serialises writers per room, so seqs are gap-free. Sends
//! arrive here in batches (see [`crate::batch`]): one bump by the batch's
//! size, then its rows, in one commit.

use chat_platform::ServiceResult;
use chat_platform::db::Backend;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub user_id: i64,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub created_at: i64,
}

/// A message to store: what a send carries, already validated.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub user_id: i64,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, room_id, seq, user_id, content, client_msg_id, created_at";

fn message(r: AnyRow) -> MessageRow {
    MessageRow {
        id: r.get(0),
        room_id: r.get(1),
        seq: r.get(2),
        user_id: r.get(3),
        content: r.get(4),
        client_msg_id: r.get(5),
        created_at: r.get(6),
    }
}

#[derive(Clone)]
pub struct MessageStore {
    pool: AnyPool,
    backend: Backend,
}

impl MessageStore {
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        Self { pool, backend }
    }

    /// The messages already stored under `keys` in `room_id`: the
    /// idempotency key of a send is (room, sender, client_msg_id).
    pub async fn by_client_ids(&self, room_id: i64, keys: &[(i64, &str)]) -> ServiceResult<Vec<MessageRow>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..keys.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE room_id = $1 AND client_msg_id IN ({})",
            placeholders.join(", ")
        ));
        let query = keys
            .iter()
            .fold(sqlx::query(sql).bind(room_id), |q, (_, key)| q.bind(*key));
        Ok(query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(message)
            .filter(|m| {
                keys.iter()
                    .any(|(user, key)| m.user_id == *user && m.client_msg_id.as_deref() == Some(key))
            })
            .collect())
    }

    /// Stores `batch` (all for `room_id`, none already stored) with the
    /// room's next seqs, in order, in one statement (PostgreSQL) or one
    /// transaction (SQLite): all commit or none do, so seqs stay gap-free.
    /// Returns each message's (id, seq), in `batch` order.
    pub async fn insert_batch(&self, room_id: i64, batch: &[NewMessage]) -> ServiceResult<Vec<(i64, i64)>> {
        match self.backend {
            Backend::Postgres => self.insert_postgres(room_id, batch).await,
            Backend::Sqlite => self.insert_sqlite(room_id, batch).await,
        }
    }

    /// One statement, so one round trip: the sequence bump and the inserts
    /// commit together or not at all, and the row lock on the room's
    /// sequence orders concurrent writers (another replica, say).
    async fn insert_postgres(&self, room_id: i64, batch: &[NewMessage]) -> ServiceResult<Vec<(i64, i64)>> {
        let n = batch.len() as i64;
        let rows: Vec<String> = (0..batch.len())
            .map(|i| {
                let p = 3 + 4 * i;
                format!(
                    "(${}::bigint, ${}::text, ${}::text, ${}::bigint, {})",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    i + 1
                )
            })
            .collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "WITH s AS ( \
                 INSERT INTO room_sequences (room_id, last_seq) VALUES ($1, $2) \
                 ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + $2 \
                 RETURNING last_seq) \
             INSERT INTO messages (room_id, seq, user_id, content, client_msg_id, created_at) \
             SELECT $1, s.last_seq - $2 + v.ord, v.user_id, v.content, v.client_msg_id, v.created_at \
             FROM s, (VALUES {}) AS v (user_id, content, client_msg_id, created_at, ord) \
             RETURNING id, seq",
            rows.join(", ")
        ));
        let query = batch.iter().fold(sqlx::query(sql).bind(room_id).bind(n), |q, m| {
            q.bind(m.user_id)
                .bind(m.content.as_str())
                .bind(m.client_msg_id.as_deref())
                .bind(m.created_at)
        });
        let mut ids: Vec<(i64, i64)> = query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        ids.sort_unstable_by_key(|(_, seq)| *seq);
        Ok(ids)
    }

    /// SQLite has no data-modifying CTEs: a transaction whose first
    /// statement writes, so it holds the database's write lock throughout,
    /// and one commit (one fsync) for the whole batch.
    async fn insert_sqlite(&self, room_id: i64, batch: &[NewMessage]) -> ServiceResult<Vec<(i64, i64)>> {
        let mut tx = self.pool.begin().await?;
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO room_sequences (room_id, last_seq) VALUES ($1, $2) \
             ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + $2 RETURNING last_seq",
        )
        .bind(room_id)
        .bind(batch.len() as i64)
        .fetch_one(&mut *tx)
        .await?;
        let first = last - batch.len() as i64 + 1;
        let mut ids = Vec::with_capacity(batch.len());
        for (seq, m) in (first..).zip(batch) {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO messages (room_id, seq, user_id, content, client_msg_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(room_id)
            .bind(seq)
            .bind(m.user_id)
            .bind(m.content.as_str())
            .bind(m.client_msg_id.as_deref())
            .bind(m.created_at)
            .fetch_one(&mut *tx)
            .await?;
            ids.push((id, seq));
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Up to `limit` messages in ascending seq order: after `after_seq` when
    /// it is positive (catching up), else the newest before `before_seq`
    /// (0: the newest of all). The flag says whether more exist beyond the page.
    pub async fn list(
        &self,
        room_id: i64,
        before_seq: i64,
        after_seq: i64,
        limit: i64,
    ) -> ServiceResult<(Vec<MessageRow>, bool)> {
        let mut rows: Vec<MessageRow> = if after_seq > 0 {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM messages WHERE room_id = $1 AND seq > $2 AND ($3 = 0 OR seq < $3) \
                 ORDER BY seq ASC LIMIT $4"
            ));
            sqlx::query(sql)
                .bind(room_id)
                .bind(after_seq)
                .bind(before_seq)
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(message)
                .collect()
        } else {
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM messages WHERE room_id = $1 AND ($2 = 0 OR seq < $2) \
                 ORDER BY seq DESC LIMIT $3"
            ));
            let mut newest_first: Vec<MessageRow> = sqlx::query(sql)
                .bind(room_id)
                .bind(before_seq)
                .bind(limit + 1)
                .fetch_all(&self.pool)
                .await?
                .into_iter()
                .map(message)
                .collect();
            let more = newest_first.len() as i64 > limit;
            newest_first.truncate(limit as usize);
            newest_first.reverse();
            return Ok((newest_first, more));
        };
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }

    /// Removes a deleted room's messages and sequence.
    pub async fn delete_room(&self, room_id: i64) -> ServiceResult<u64> {
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM messages WHERE room_id = $1")
            .bind(room_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM room_sequences WHERE room_id = $1")
            .bind(room_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone)
    }
}
