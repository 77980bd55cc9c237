//! Read positions, unread and mention counts.
//!
//! Each member has a `last_read_seq` per room (`read_marks`), which only
//! moves forward and never past the room's latest seq. A member's unread
//! count is the number of messages after it that are neither their own nor
//! deleted; before a member marks anything, messages from before they
//! joined don't count. The mention count is the unread messages that
//! mention them (a deleted message's mentions are removed with it).
//!
//! Others learn read positions from `read_updated` events, sent at most once
//! a second per member and room: a mark within the second is held back and
//! the latest position is sent when the second is over.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chat_platform::ServiceResult;
use chat_platform::bus::room_channel;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::{ReadState, ReadUpdated, RoomUnread};
use sqlx::Row;

use crate::MessagingService;
use crate::store::MessageStore;

/// The shortest time between two `read_updated` events of one member in one room.
pub const READ_EVENT_EVERY: Duration = Duration::from_secs(1);

/// A room to count for one member, with when they joined it (microseconds).
#[derive(Debug, Clone, Copy)]
pub struct Counted {
    pub room_id: i64,
    pub joined_at: i64,
}

impl MessageStore {
    /// Moves the member's read position forward to `seq` (clamped to the
    /// room's latest). Returns the position now stored.
    pub async fn mark_read(&self, room_id: i64, user_id: i64, seq: i64) -> ServiceResult<i64> {
        let (last_seq, _) = self.marks(room_id).await?;
        let seq = seq.min(last_seq).max(0);
        Ok(sqlx::query_scalar(
            "INSERT INTO read_marks (room_id, user_id, last_read_seq) VALUES ($1, $2, $3) \
             ON CONFLICT (room_id, user_id) DO UPDATE SET last_read_seq = \
             CASE WHEN excluded.last_read_seq > read_marks.last_read_seq \
             THEN excluded.last_read_seq ELSE read_marks.last_read_seq END \
             RETURNING last_read_seq",
        )
        .bind(room_id)
        .bind(user_id)
        .bind(seq)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The member's state in each room, in one statement whatever the
    /// number of rooms. Rooms come back in the order asked.
    pub async fn unread(&self, user_id: i64, rooms: &[Counted]) -> ServiceResult<Vec<RoomUnread>> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<String> = (0..rooms.len())
            .map(|i| format!("(CAST(${} AS BIGINT), CAST(${} AS BIGINT))", 2 * i + 2, 2 * i + 3))
            .collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "WITH q (room_id, joined_at) AS (VALUES {}) \
             SELECT q.room_id, COALESCE(s.last_seq, 0), COALESCE(r.last_read_seq, 0), \
               (SELECT COUNT(*) FROM messages m WHERE m.room_id = q.room_id \
                  AND m.seq > COALESCE(r.last_read_seq, 0) AND m.user_id <> $1 AND m.deleted_at IS NULL \
                  AND (r.last_read_seq IS NOT NULL OR m.created_at >= q.joined_at)), \
               (SELECT COUNT(*) FROM mentions n WHERE n.user_id = $1 AND n.room_id = q.room_id \
                  AND n.seq > COALESCE(r.last_read_seq, 0)) \
             FROM q LEFT JOIN room_sequences s ON s.room_id = q.room_id \
             LEFT JOIN read_marks r ON r.room_id = q.room_id AND r.user_id = $1",
            values.join(", ")
        ));
        let query = rooms.iter().fold(sqlx::query(sql).bind(user_id), |q, r| {
            q.bind(r.room_id).bind(r.joined_at)
        });
        let mut found: HashMap<i64, RoomUnread> = query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| {
                let room_id: i64 = r.get(0);
                (
                    room_id,
                    RoomUnread {
                        room_id,
                        last_seq: r.get(1),
                        last_read_seq: r.get(2),
                        unread_count: r.get(3),
                        mention_count: r.get(4),
                    },
                )
            })
            .collect();
        Ok(rooms.iter().filter_map(|r| found.remove(&r.room_id)).collect())
    }

    /// One member's stored read position.
    pub async fn read_position(&self, room_id: i64, user_id: i64) -> ServiceResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT last_read_seq FROM read_marks WHERE room_id = $1 AND user_id = $2")
                .bind(room_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Every stored read position in a room.
    pub async fn read_states(&self, room_id: i64) -> ServiceResult<Vec<ReadState>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT user_id, last_read_seq FROM read_marks WHERE room_id = $1 ORDER BY user_id")
                .bind(room_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(user_id, last_read_seq)| ReadState { user_id, last_read_seq })
            .collect())
    }
}

/// When each (room, member) last had a `read_updated` sent, and whether a
/// later one is waiting for its second to pass.
#[derive(Default)]
pub struct ReadThrottle {
    sent: Mutex<HashMap<(i64, i64), (Instant, bool)>>,
}

impl MessagingService {
    /// Announces a member's read position, at most once a second per room:
    /// within the second, one delayed announcement carries the latest.
    pub(crate) fn announce_read(&self, room_id: i64, user_id: i64) {
        let now = Instant::now();
        let wait = {
            let mut sent = self.inner.reads.sent.lock().expect("lock");
            sent.retain(|_, (at, waiting)| *waiting || at.elapsed() < READ_EVENT_EVERY);
            match sent.get_mut(&(room_id, user_id)) {
                Some((_, true)) => return,
                Some((at, waiting)) => {
                    *waiting = true;
                    READ_EVENT_EVERY.saturating_sub(at.elapsed())
                }
                None => {
                    sent.insert((room_id, user_id), (now, false));
                    Duration::ZERO
                }
            }
        };
        let this = self.clone();
        tokio::spawn(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
                this.inner
                    .reads
                    .sent
                    .lock()
                    .expect("lock")
                    .insert((room_id, user_id), (Instant::now(), false));
            }
            // The position as stored now: the latest, whichever mark it was.
            let position = match this.inner.store.read_position(room_id, user_id).await {
                Ok(position) => position,
                Err(e) => {
                    tracing::warn!(error = %e, room_id, "read position not announced");
                    return;
                }
            };
            if let Some(last_read_seq) = position {
                let event = Event::Read(ReadUpdated {
                    room_id,
                    user_id,
                    last_read_seq,
                });
                this.publish(&room_channel(room_id), event).await;
            }
        });
    }
}
