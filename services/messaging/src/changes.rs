//! Changes to stored messages: edits, deletes (tombstones) and reactions,
//! and the per-room change feed that lets a client catch up on them.
//!
//! Every change takes its room's next `change_seq` (the `last_change` column
//! of `room_sequences`, bumped in the change's transaction, so gap-free like
//! `seq`) and stamps the message with it. The message row always holds its
//! latest state, so "everything changed after change N" is one indexed
//! range over `messages (room_id, change_seq)`, each changed message once.
//!
//! Who may do what: the sender edits and deletes their own message; a room's
//! owner or admin may delete any (asked of the room service). Any member
//! reacts.

use std::collections::HashMap;

use chat_platform::{ServiceError, ServiceResult, now_micros};
use chat_proto::messaging::v1::Reaction;
use sqlx::{Any, Row, Transaction};

use crate::store::{COLUMNS, MessageRow, MessageStore, message, page};

/// The most distinct emoji on one message.
pub const MAX_REACTION_EMOJI: i64 = 20;

/// What a change does to a message.
pub enum Change<'a> {
    Edit {
        content: &'a str,
    },
    Delete,
    /// Adds the user's reaction with this (normalised) emoji, or removes it.
    Toggle {
        emoji: &'a str,
        user_id: i64,
    },
}

/// A committed change: the message's new state, and for a toggle whether
/// the reaction was added.
pub struct Changed {
    pub row: MessageRow,
    pub added: bool,
}

/// The emoji as stored: one fully qualified Unicode emoji (with its skin
/// tone, if any), or INVALID_ARGUMENT. "❤" and "❤️" are the same reaction.
pub fn emoji(raw: &str) -> ServiceResult<&'static str> {
    match emojis::get(raw) {
        Some(e) => Ok(e.as_str()),
        None => Err(ServiceError::invalid("emoji", "emoji must be one Unicode emoji")),
    }
}

impl MessageStore {
    /// One message of a room, or NOT_FOUND.
    pub async fn get(&self, room_id: i64, message_id: i64) -> ServiceResult<MessageRow> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM messages WHERE id = $1 AND room_id = $2"));
        sqlx::query(sql)
            .bind(message_id)
            .bind(room_id)
            .fetch_optional(&self.pool)
            .await?
            .map(message)
            .ok_or_else(|| ServiceError::NotFound(format!("message {message_id} not found in room {room_id}")))
    }

    /// Applies `change` to a message in one transaction that takes the
    /// room's next change_seq first (which also serialises the room's
    /// changes). `check` sees the message as it is inside the transaction
    /// and may refuse the change.
    pub async fn change(
        &self,
        room_id: i64,
        message_id: i64,
        change: Change<'_>,
        check: impl FnOnce(&MessageRow) -> ServiceResult<()>,
    ) -> ServiceResult<Changed> {
        let mut tx = self.pool.begin().await?;
        let change_seq: Option<i64> = sqlx::query_scalar(
            "UPDATE room_sequences SET last_change = last_change + 1 WHERE room_id = $1 RETURNING last_change",
        )
        .bind(room_id)
        .fetch_optional(&mut *tx)
        .await?;
        let not_found = || ServiceError::NotFound(format!("message {message_id} not found in room {room_id}"));
        let change_seq = change_seq.ok_or_else(not_found)?;
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM messages WHERE id = $1 AND room_id = $2"));
        let row = sqlx::query(sql)
            .bind(message_id)
            .bind(room_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(message)
            .ok_or_else(not_found)?;
        check(&row)?;
        let mut added = false;
        match change {
            Change::Edit { content } => {
                if row.deleted {
                    return Err(ServiceError::FailedPrecondition(
                        "a deleted message cannot be edited".into(),
                    ));
                }
                sqlx::query("UPDATE messages SET content = $1, edited_at = $2, change_seq = $3 WHERE id = $4")
                    .bind(content)
                    .bind(now_micros())
                    .bind(change_seq)
                    .bind(message_id)
                    .execute(&mut *tx)
                    .await?;
            }
            Change::Delete => {
                if row.deleted {
                    return Err(ServiceError::FailedPrecondition(
                        "the message is already deleted".into(),
                    ));
                }
                sqlx::query(
                    "UPDATE messages SET content = '', deleted_at = $1, change_seq = $2, mention_ids = NULL \
                     WHERE id = $3",
                )
                .bind(now_micros())
                .bind(change_seq)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM reactions WHERE message_id = $1")
                    .bind(message_id)
                    .execute(&mut *tx)
                    .await?;
                for user_id in &row.mentions {
                    sqlx::query("DELETE FROM mentions WHERE user_id = $1 AND room_id = $2 AND seq = $3")
                        .bind(user_id)
                        .bind(room_id)
                        .bind(row.seq)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            Change::Toggle { emoji, user_id } => {
                if row.deleted {
                    return Err(ServiceError::FailedPrecondition(
                        "a deleted message cannot be reacted to".into(),
                    ));
                }
                added = toggle(&mut tx, message_id, emoji, user_id).await?;
                sqlx::query("UPDATE messages SET change_seq = $1 WHERE id = $2")
                    .bind(change_seq)
                    .bind(message_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM messages WHERE id = $1"));
        let row = message(sqlx::query(sql).bind(message_id).fetch_one(&mut *tx).await?);
        tx.commit().await?;
        Ok(Changed { row, added })
    }

    /// Each message of the room changed after `after_change`, in its latest
    /// state, ascending by change_seq; whether more follow; and the room's
    /// latest change_seq.
    pub async fn changes(
        &self,
        room_id: i64,
        after_change: i64,
        limit: i64,
    ) -> ServiceResult<(Vec<MessageRow>, bool, i64)> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM messages WHERE room_id = $1 AND change_seq > $2 ORDER BY change_seq LIMIT $3"
        ));
        let rows: Vec<MessageRow> = sqlx::query(sql)
            .bind(room_id)
            .bind(after_change)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(message)
            .collect();
        let (rows, more) = page(rows, limit);
        let (_, last_change) = self.marks(room_id).await?;
        Ok((rows, more, last_change))
    }

    /// The reactions of these messages, as `viewer` sees them (`me`), each
    /// message's in the order its emoji were first used. Only messages that
    /// ever changed can have any, so the others cost nothing.
    pub async fn reactions(&self, rows: &[MessageRow], viewer: i64) -> ServiceResult<HashMap<i64, Vec<Reaction>>> {
        let ids: Vec<i64> = rows
            .iter()
            .filter(|r| r.change_seq > 0 && !r.deleted)
            .map(|r| r.id)
            .collect();
        let mut out: HashMap<i64, Vec<Reaction>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT message_id, emoji, COUNT(*), SUM(CASE WHEN user_id = $1 THEN 1 ELSE 0 END), MIN(created_at) \
             FROM reactions WHERE message_id IN ({}) GROUP BY message_id, emoji \
             ORDER BY message_id, MIN(created_at), emoji",
            placeholders.join(", ")
        ));
        let query = ids.iter().fold(sqlx::query(sql).bind(viewer), |q, id| q.bind(*id));
        for r in query.fetch_all(&self.pool).await? {
            let mine: i64 = r.get(3);
            out.entry(r.get(0)).or_default().push(Reaction {
                emoji: r.get(1),
                count: r.get(2),
                me: mine > 0,
            });
        }
        Ok(out)
    }
}

/// Removes the user's reaction with `emoji`, or adds it (refused past
/// [`MAX_REACTION_EMOJI`] distinct emoji). Returns whether it was added.
async fn toggle(tx: &mut Transaction<'static, Any>, message_id: i64, emoji: &str, user_id: i64) -> ServiceResult<bool> {
    let removed = sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3")
        .bind(message_id)
        .bind(emoji)
        .bind(user_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if removed > 0 {
        return Ok(false);
    }
    let (distinct, has_it): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(DISTINCT emoji), COUNT(CASE WHEN emoji = $2 THEN 1 END) FROM reactions WHERE message_id = $1",
    )
    .bind(message_id)
    .bind(emoji)
    .fetch_one(&mut **tx)
    .await?;
    if has_it == 0 && distinct >= MAX_REACTION_EMOJI {
        return Err(ServiceError::FailedPrecondition(format!(
            "a message has at most {MAX_REACTION_EMOJI} different emoji"
        )));
    }
    sqlx::query("INSERT INTO reactions (message_id, emoji, user_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(message_id)
        .bind(emoji)
        .bind(user_id)
        .bind(now_micros())
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emoji_is_accepted_and_normalised() {
        assert_eq!(emoji("👍").unwrap(), "👍");
        assert_eq!(emoji("👍🏽").unwrap(), "👍🏽");
        assert_eq!(emoji("❤").unwrap(), emoji("❤️").unwrap());
        assert_eq!(emoji("👨‍👩‍👧").unwrap(), "👨‍👩‍👧");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "a", "👍👍", ":+1:", "thumbs up", " 👍", "<script>", "1", "👍a"] {
            assert!(emoji(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
