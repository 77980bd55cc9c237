//! The messaging service's `messages` and `room_sequences` tables: sends
//! and history. Changes to stored messages are in [`crate::changes`], read
//! positions in [`crate::reads`], search in [`crate::search`].
//!
//! A message's `seq` comes from bumping its room's row in `room_sequences`
//! inside the insert's transaction: the row lock (PostgreSQL) or the write
//! lock (SQLite) serialises writers per room, so seqs are gap-free. Sends
//! arrive here in batches (see [`crate::batch`]): one bump by the batch's
//! size, then its rows, in one commit.

use std::collections::{BTreeMap, HashMap};

use chat_platform::db::Backend;
use chat_platform::{ServiceError, ServiceResult};
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
    pub edited_at: Option<i64>,
    pub deleted: bool,
    /// The room's change_seq of the latest change to it; 0: never changed.
    pub change_seq: i64,
    pub mentions: Vec<i64>,
}

/// A message to store: what a send carries, already validated.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room_id: i64,
    pub user_id: i64,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub created_at: i64,
    /// Members mentioned (already checked).
    pub mentions: Vec<i64>,
}

pub(crate) const COLUMNS: &str =
    "id, room_id, seq, user_id, content, client_msg_id, created_at, edited_at, deleted_at, change_seq, mention_ids";

pub(crate) fn message(r: AnyRow) -> MessageRow {
    let deleted_at: Option<i64> = r.get(8);
    let mentions: Option<String> = r.get(10);
    MessageRow {
        id: r.get(0),
        room_id: r.get(1),
        seq: r.get(2),
        user_id: r.get(3),
        content: r.get(4),
        client_msg_id: r.get(5),
        created_at: r.get(6),
        edited_at: r.get(7),
        deleted: deleted_at.is_some(),
        change_seq: r.get(9),
        mentions: mentions.as_deref().map(parse_ids).unwrap_or_default(),
    }
}

/// The first `limit` of `rows` (read with `limit + 1`), and whether there
/// were more.
pub(crate) fn page(mut rows: Vec<MessageRow>, limit: i64) -> (Vec<MessageRow>, bool) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    (rows, more)
}

/// Mentioned ids as stored: comma-separated, NULL for none.
pub(crate) fn mention_column(ids: &[i64]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}

fn parse_ids(s: &str) -> Vec<i64> {
    s.split(',').filter_map(|id| id.parse().ok()).collect()
}

/// Each message's 1-based place among the batch's messages of its room.
fn ordinals(batch: &[NewMessage]) -> Vec<i64> {
    let mut seen: HashMap<i64, i64> = HashMap::new();
    batch
        .iter()
        .map(|m| {
            let n = seen.entry(m.room_id).or_default();
            *n += 1;
            *n
        })
        .collect()
}

#[derive(Clone)]
pub struct MessageStore {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
}

impl MessageStore {
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        Self { pool, backend }
    }

    /// The messages already stored under these idempotency keys: a send's
    /// key is (room, sender, client_msg_id).
    pub async fn by_client_ids(&self, keys: &[(i64, i64, &str)]) -> ServiceResult<Vec<MessageRow>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let tuples: Vec<String> = (0..keys.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE (room_id, user_id, client_msg_id) IN ({})",
            tuples.join(", ")
        ));
        let query = keys.iter().fold(sqlx::query(sql), |q, (room, user, key)| {
            q.bind(*room).bind(*user).bind(*key)
        });
        Ok(query.fetch_all(&self.pool).await?.into_iter().map(message).collect())
    }

    /// Stores `batch` (none already stored; any mix of rooms) with each
    /// room's next seqs, in batch order within a room, in one statement
    /// (PostgreSQL) or one transaction (SQLite): all commit or none do, so
    /// seqs stay gap-free. Returns each message's (id, seq), in batch order.
    pub async fn insert_batch(&self, batch: &[NewMessage]) -> ServiceResult<Vec<(i64, i64)>> {
        match self.backend {
            Backend::Postgres => self.insert_postgres(batch).await,
            Backend::Sqlite => self.insert_sqlite(batch).await,
        }
    }

    /// One statement, so one round trip and one commit for every room in
    /// the batch. Each room's sequence row is bumped once by its count (in
    /// room order, so concurrent writers lock rows in the same order), and
    /// its messages take the seqs below the new mark, in batch order.
    async fn insert_postgres(&self, batch: &[NewMessage]) -> ServiceResult<Vec<(i64, i64)>> {
        let ordinals = ordinals(batch);
        let rows: Vec<String> = (0..batch.len())
            .map(|i| {
                let p = 6 * i;
                format!(
                    "(${}::bigint, ${}::bigint, ${}::text, ${}::text, ${}::bigint, ${}::text, {}::bigint)",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    ordinals[i]
                )
            })
            .collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "WITH v (room_id, user_id, content, client_msg_id, created_at, mention_ids, ord) AS (VALUES {}), \
             c AS (SELECT room_id, COUNT(*) AS n FROM v GROUP BY room_id), \
             s AS ( \
                 INSERT INTO room_sequences (room_id, last_seq) SELECT room_id, n FROM c ORDER BY room_id \
                 ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + EXCLUDED.last_seq \
                 RETURNING room_id, last_seq) \
             INSERT INTO messages (room_id, seq, user_id, content, client_msg_id, created_at, mention_ids) \
             SELECT v.room_id, s.last_seq - c.n + v.ord, v.user_id, v.content, v.client_msg_id, v.created_at, \
             v.mention_ids \
             FROM v JOIN c ON c.room_id = v.room_id JOIN s ON s.room_id = v.room_id \
             RETURNING id, room_id, seq",
            rows.join(", ")
        ));
        let query = batch.iter().fold(sqlx::query(sql), |q, m| {
            q.bind(m.room_id)
                .bind(m.user_id)
                .bind(m.content.as_str())
                .bind(m.client_msg_id.as_deref())
                .bind(m.created_at)
                .bind(mention_column(&m.mentions))
        });
        // Mentions are stored in the same commit: a transaction only when
        // the batch has any (the statement alone is its own transaction).
        let with_mentions = batch.iter().any(|m| !m.mentions.is_empty());
        let mut tx = if with_mentions {
            Some(self.pool.begin().await?)
        } else {
            None
        };
        let fetched = match tx.as_mut() {
            Some(tx) => query.fetch_all(&mut **tx).await?,
            None => query.fetch_all(&self.pool).await?,
        };
        let stored: Vec<(i64, i64, i64)> = fetched.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        // A room's seqs are consecutive: the lowest is its first message's.
        let mut first: HashMap<i64, i64> = HashMap::new();
        for (_, room, seq) in &stored {
            let lowest = first.entry(*room).or_insert(*seq);
            *lowest = (*lowest).min(*seq);
        }
        let ids: HashMap<(i64, i64), i64> = stored.iter().map(|(id, room, seq)| ((*room, *seq), *id)).collect();
        let stored: Vec<(i64, i64)> = batch
            .iter()
            .zip(&ordinals)
            .map(|(m, ord)| {
                let seq = first.get(&m.room_id).copied().unwrap_or_default() + ord - 1;
                ids.get(&(m.room_id, seq)).map(|id| (*id, seq)).ok_or_else(|| {
                    ServiceError::Internal(anyhow::anyhow!("a stored message is missing from RETURNING"))
                })
            })
            .collect::<ServiceResult<_>>()?;
        if let Some(mut tx) = tx {
            for (m, (id, seq)) in batch.iter().zip(&stored) {
                insert_mentions(&mut tx, m, *id, *seq).await?;
            }
            tx.commit().await?;
        }
        Ok(stored)
    }

    /// SQLite has no data-modifying CTEs: a transaction whose first
    /// statement writes, so it holds the database's write lock throughout,
    /// and one commit (one fsync) for the whole batch.
    async fn insert_sqlite(&self, batch: &[NewMessage]) -> ServiceResult<Vec<(i64, i64)>> {
        let mut counts: BTreeMap<i64, i64> = BTreeMap::new();
        for m in batch {
            *counts.entry(m.room_id).or_default() += 1;
        }
        let mut tx = self.pool.begin().await?;
        let mut next: HashMap<i64, i64> = HashMap::new();
        for (room_id, n) in &counts {
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO room_sequences (room_id, last_seq) VALUES ($1, $2) \
                 ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + $2 RETURNING last_seq",
            )
            .bind(room_id)
            .bind(n)
            .fetch_one(&mut *tx)
            .await?;
            next.insert(*room_id, last - n + 1);
        }
        let mut ids = Vec::with_capacity(batch.len());
        for m in batch {
            let seq = next.get_mut(&m.room_id).map(|s| {
                *s += 1;
                *s - 1
            });
            let seq = seq.unwrap_or_default();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO messages (room_id, seq, user_id, content, client_msg_id, created_at, mention_ids) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(m.room_id)
            .bind(seq)
            .bind(m.user_id)
            .bind(m.content.as_str())
            .bind(m.client_msg_id.as_deref())
            .bind(m.created_at)
            .bind(mention_column(&m.mentions))
            .fetch_one(&mut *tx)
            .await?;
            insert_mentions(&mut tx, m, id, seq).await?;
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
        if after_seq > 0 {
            return self.range(room_id, after_seq, before_seq, limit).await;
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE room_id = $1 AND ($2 = 0 OR seq < $2) \
             ORDER BY seq DESC LIMIT $3"
        ));
        let newest_first: Vec<MessageRow> = sqlx::query(sql)
            .bind(room_id)
            .bind(before_seq)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(message)
            .collect();
        let (mut rows, more) = page(newest_first, limit);
        rows.reverse();
        Ok((rows, more))
    }

    /// Up to `limit` messages after `after_seq` (0: from the first), in
    /// ascending seq order, and whether more follow.
    pub async fn after(&self, room_id: i64, after_seq: i64, limit: i64) -> ServiceResult<(Vec<MessageRow>, bool)> {
        self.range(room_id, after_seq, 0, limit).await
    }

    /// Up to `limit` messages with `after_seq < seq < before_seq` (0: no
    /// upper bound), ascending, and whether more follow.
    async fn range(
        &self,
        room_id: i64,
        after_seq: i64,
        before_seq: i64,
        limit: i64,
    ) -> ServiceResult<(Vec<MessageRow>, bool)> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE room_id = $1 AND seq > $2 AND ($3 = 0 OR seq < $3) \
             ORDER BY seq ASC LIMIT $4"
        ));
        let rows: Vec<MessageRow> = sqlx::query(sql)
            .bind(room_id)
            .bind(after_seq)
            .bind(before_seq)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(message)
            .collect();
        Ok(page(rows, limit))
    }

    /// Removes a deleted room's messages, reactions, read positions,
    /// mentions and sequence.
    pub async fn delete_room(&self, room_id: i64) -> ServiceResult<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages WHERE room_id = $1)")
            .bind(room_id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM messages WHERE room_id = $1")
            .bind(room_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for table in ["room_sequences", "read_marks", "mentions"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE room_id = $1")))
                .bind(room_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(gone)
    }

    /// The room's latest seq and change_seq (0, 0 for a room without messages).
    pub async fn marks(&self, room_id: i64) -> ServiceResult<(i64, i64)> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT last_seq, last_change FROM room_sequences WHERE room_id = $1")
                .bind(room_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.unwrap_or_default())
    }
}

/// The mention rows of a message just inserted, in its transaction.
async fn insert_mentions(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    m: &NewMessage,
    id: i64,
    seq: i64,
) -> ServiceResult<()> {
    for user_id in &m.mentions {
        sqlx::query("INSERT INTO mentions (user_id, room_id, seq, message_id) VALUES ($1, $2, $3, $4)")
            .bind(user_id)
            .bind(m.room_id)
            .bind(seq)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
