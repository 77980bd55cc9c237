//! The messaging service's tables: `messages` and `room_sequences`.
//!
//! A message's `seq` comes from bumping its room's row in `room_sequences`
//! inside the insert's transaction: the row lock (PostgreSQL) or the write
//! lock (SQLite) serialises senders per room, so seqs are gap-free.

use chat_platform::db::Backend;
use chat_platform::domain::MessageContent;
use chat_platform::error::is_unique_violation;
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

    async fn by_client_id(&self, user_id: i64, client_msg_id: &str) -> ServiceResult<Option<MessageRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE user_id = $1 AND client_msg_id = $2"
        ));
        Ok(sqlx::query(sql)
            .bind(user_id)
            .bind(client_msg_id)
            .fetch_optional(&self.pool)
            .await?
            .map(message))
    }

    /// Stores a message with the room's next seq. With a `client_msg_id`
    /// already used by this user, returns the stored message and `false`.
    pub async fn insert(
        &self,
        room_id: i64,
        user_id: i64,
        content: &MessageContent,
        client_msg_id: Option<&str>,
        now: i64,
    ) -> ServiceResult<(MessageRow, bool)> {
        let content = content.as_str();
        if let Some(key) = client_msg_id
            && let Some(existing) = self.by_client_id(user_id, key).await?
        {
            return Ok((existing, false));
        }
        let inserted = match self.backend {
            Backend::Postgres => {
                self.insert_postgres(room_id, user_id, content, client_msg_id, now)
                    .await
            }
            Backend::Sqlite => self.insert_sqlite(room_id, user_id, content, client_msg_id, now).await,
        };
        let (id, seq) = match inserted {
            Ok(ids) => ids,
            // The same client_msg_id raced in from another request: the
            // failed insert took its seq bump with it, and the winner's
            // message is the answer.
            Err(ServiceError::Db(e)) if is_unique_violation(&e) && client_msg_id.is_some() => {
                let existing = self.by_client_id(user_id, client_msg_id.unwrap_or_default()).await?;
                return existing.map(|m| (m, false)).ok_or_else(|| e.into());
            }
            Err(e) => return Err(e),
        };
        Ok((
            MessageRow {
                id,
                room_id,
                seq,
                user_id,
                content: content.to_owned(),
                client_msg_id: client_msg_id.map(str::to_owned),
                created_at: now,
            },
            true,
        ))
    }

    /// One statement, so one round trip: the sequence bump and the insert
    /// commit together or not at all, and the row lock on the room's
    /// sequence orders concurrent senders.
    async fn insert_postgres(
        &self,
        room_id: i64,
        user_id: i64,
        content: &str,
        client_msg_id: Option<&str>,
        now: i64,
    ) -> ServiceResult<(i64, i64)> {
        let row = sqlx::query(
            "WITH s AS ( \
                 INSERT INTO room_sequences (room_id, last_seq) VALUES ($1, 1) \
                 ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + 1 \
                 RETURNING last_seq) \
             INSERT INTO messages (room_id, seq, user_id, content, client_msg_id, created_at) \
             SELECT $1, s.last_seq, $2, $3, $4, $5 FROM s RETURNING id, seq",
        )
        .bind(room_id)
        .bind(user_id)
        .bind(content)
        .bind(client_msg_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.get(0), row.get(1)))
    }

    /// SQLite has no data-modifying CTEs: a transaction whose first
    /// statement writes, so it holds the database's write lock throughout.
    async fn insert_sqlite(
        &self,
        room_id: i64,
        user_id: i64,
        content: &str,
        client_msg_id: Option<&str>,
        now: i64,
    ) -> ServiceResult<(i64, i64)> {
        let mut tx = self.pool.begin().await?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO room_sequences (room_id, last_seq) VALUES ($1, 1) \
             ON CONFLICT (room_id) DO UPDATE SET last_seq = room_sequences.last_seq + 1 RETURNING last_seq",
        )
        .bind(room_id)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (room_id, seq, user_id, content, client_msg_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(room_id)
        .bind(seq)
        .bind(user_id)
        .bind(content)
        .bind(client_msg_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((id, seq))
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
