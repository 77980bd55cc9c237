//! The room service's tables: `rooms` and `room_members`.

use chat_platform::domain::RoomName;
use chat_platform::error::is_unique_violation;
use chat_platform::{ServiceError, ServiceResult};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

#[derive(Debug, Clone)]
pub struct RoomRow {
    pub id: i64,
    pub name: String,
    pub created_by: i64,
    pub created_at: i64,
    pub member_count: i64,
    pub is_member: bool,
}

/// Selects a room with its member count and whether `$1` belongs to it.
const SELECT: &str = "SELECT r.id, r.name, r.created_by, r.created_at, \
     (SELECT COUNT(*) FROM room_members m WHERE m.room_id = r.id) AS member_count, \
     (SELECT COUNT(*) FROM room_members m WHERE m.room_id = r.id AND m.user_id = $1) AS is_member \
     FROM rooms r";

fn room(r: AnyRow) -> RoomRow {
    RoomRow {
        id: r.get(0),
        name: r.get(1),
        created_by: r.get(2),
        created_at: r.get(3),
        member_count: r.get(4),
        is_member: r.get::<i64, _>(5) > 0,
    }
}

#[derive(Clone)]
pub struct RoomStore {
    pool: AnyPool,
}

impl RoomStore {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Creates a room with its creator as the first member.
    pub async fn create(&self, name: &RoomName, creator: i64, now: i64) -> ServiceResult<i64> {
        let name = name.as_str();
        let mut tx = self.pool.begin().await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO rooms (name, created_by, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(name)
                .bind(creator)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        ServiceError::AlreadyExists(format!("a room named \"{name}\" already exists"))
                    } else {
                        e.into()
                    }
                })?;
        sqlx::query("INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(creator)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// How many rooms `user_id` has created (and not deleted).
    pub async fn created_by(&self, user_id: i64) -> ServiceResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE created_by = $1")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn get(&self, id: i64, caller: i64) -> ServiceResult<Option<RoomRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE r.id = $2"));
        Ok(sqlx::query(sql)
            .bind(caller)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(room))
    }

    /// Rooms with an id above `after`, oldest first.
    pub async fn list(&self, caller: i64, after: i64, limit: i64) -> ServiceResult<Vec<RoomRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE r.id > $2 ORDER BY r.id LIMIT $3"));
        Ok(sqlx::query(sql)
            .bind(caller)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(room)
            .collect())
    }

    /// Deletes the room and its memberships. Returns whether it existed.
    pub async fn delete(&self, id: i64) -> ServiceResult<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM room_members WHERE room_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM rooms WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(gone == 1)
    }

    /// Adds a member. Returns false when they already were one.
    pub async fn join(&self, room_id: i64, user_id: i64, now: i64) -> ServiceResult<bool> {
        let added = sqlx::query(
            "INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $3) ON CONFLICT (room_id, user_id) DO NOTHING",
        )
        .bind(room_id)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(added == 1)
    }

    /// Removes a member. Returns false when they were not one.
    pub async fn leave(&self, room_id: i64, user_id: i64) -> ServiceResult<bool> {
        let removed = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
            .bind(room_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(removed == 1)
    }

    /// Members with a user id above `after`, by user id, with their join time.
    pub async fn members(&self, room_id: i64, after: i64, limit: i64) -> ServiceResult<Vec<(i64, i64)>> {
        let rows = sqlx::query(
            "SELECT user_id, joined_at FROM room_members WHERE room_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3",
        )
        .bind(room_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn is_member(&self, room_id: i64, user_id: i64) -> ServiceResult<(bool, bool)> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM rooms WHERE id = $1), \
             (SELECT COUNT(*) FROM room_members WHERE room_id = $1 AND user_id = $2)",
        )
        .bind(room_id)
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.get::<i64, _>(0) > 0, row.get::<i64, _>(1) > 0))
    }
}
