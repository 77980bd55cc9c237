//! The room service's tables: `rooms` and `room_members`.
//!
//! Every read the RPCs make is one statement, whatever the page size: a
//! room page joins the caller's membership and counts members in the same
//! query.

use chat_platform::domain::RoomName;
use chat_platform::error::is_unique_violation;
use chat_platform::{ServiceError, ServiceResult};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::policy::{Access, Kind, Role, Visibility};

#[derive(Debug, Clone)]
pub struct RoomRow {
    pub id: i64,
    pub name: String,
    pub created_by: i64,
    pub created_at: i64,
    pub visibility: Visibility,
    pub kind: Kind,
    /// A DM's members, lower id first.
    pub dm_pair: Option<(i64, i64)>,
    pub member_count: i64,
    /// The caller's role; `None` when not a member.
    pub my_role: Option<Role>,
    /// When the caller joined; `None` when not a member.
    pub my_joined_at: Option<i64>,
}

impl RoomRow {
    /// What the caller may know and do here.
    pub fn access(&self) -> Access {
        Access {
            room_id: self.id,
            name: self.name.clone(),
            visibility: self.visibility,
            kind: self.kind,
            role: self.my_role,
        }
    }

    /// A DM's member who is not `caller`.
    pub fn other_user(&self, caller: i64) -> Option<i64> {
        self.dm_pair.map(|(low, high)| if low == caller { high } else { low })
    }
}

/// Which rooms a listing wants, besides being visible to the caller.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter {
    /// `Some(true)`: the caller's rooms only; `Some(false)`: others only.
    pub joined: Option<bool>,
    pub kind: Option<Kind>,
}

/// A room with its member count and the role of `$1` in it.
const SELECT: &str = "SELECT r.id, r.name, r.created_by, r.created_at, r.visibility, r.kind, r.dm_low, r.dm_high, \
     (SELECT COUNT(*) FROM room_members m WHERE m.room_id = r.id) AS member_count, \
     me.role, me.joined_at \
     FROM rooms r LEFT JOIN room_members me ON me.room_id = r.id AND me.user_id = $1";

fn room(r: AnyRow) -> RoomRow {
    let low: Option<i64> = r.get(6);
    let high: Option<i64> = r.get(7);
    RoomRow {
        id: r.get(0),
        name: r.get(1),
        created_by: r.get(2),
        created_at: r.get(3),
        visibility: Visibility::from_db(r.get(4)),
        kind: Kind::from_db(r.get(5)),
        dm_pair: low.zip(high),
        member_count: r.get(8),
        my_role: r.get::<Option<String>, _>(9).map(|role| Role::from_db(&role)),
        my_joined_at: r.get(10),
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

    /// Creates a room with its creator as owner.
    pub async fn create(&self, name: &RoomName, visibility: Visibility, creator: i64, now: i64) -> ServiceResult<i64> {
        let name = name.as_str();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rooms (name, created_by, created_at, visibility, kind) VALUES ($1, $2, $3, $4, 'room') RETURNING id",
        )
        .bind(name)
        .bind(creator)
        .bind(now)
        .bind(visibility.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| name_taken(e, format!("a room named \"{name}\" already exists")))?;
        insert_member(&mut *tx, id, creator, Role::Owner, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// How many rooms `user_id` owns (the per-user room quota).
    pub async fn owned_by(&self, user_id: i64) -> ServiceResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM room_members WHERE user_id = $1 AND role = 'owner'")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// A room as `caller` sees it, visible or not (the RPC applies the
    /// rules).
    pub async fn get(&self, id: i64, caller: i64) -> ServiceResult<Option<RoomRow>> {
        let sql = sqlx::AssertSqlSafe(format!("{SELECT} WHERE r.id = $2"));
        Ok(sqlx::query(sql)
            .bind(caller)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(room))
    }

    /// Rooms `caller` can see with an id above `after`, oldest first: public
    /// rooms and the private rooms and DMs they belong to.
    pub async fn list(&self, caller: i64, after: i64, limit: i64, filter: ListFilter) -> ServiceResult<Vec<RoomRow>> {
        let membership = match filter.joined {
            None => "(r.visibility = 'public' OR me.user_id IS NOT NULL)",
            Some(true) => "me.user_id IS NOT NULL",
            Some(false) => "(r.visibility = 'public' AND me.user_id IS NULL)",
        };
        let kind = match filter.kind {
            None => "",
            Some(Kind::Room) => " AND r.kind = 'room'",
            Some(Kind::Dm) => " AND r.kind = 'dm'",
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE r.id > $2 AND {membership}{kind} ORDER BY r.id LIMIT $3"
        ));
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

    /// What `user_id` may know about a room; `None` when it doesn't exist.
    pub async fn access(&self, room_id: i64, user_id: i64) -> ServiceResult<Option<Access>> {
        let row = sqlx::query(
            "SELECT r.name, r.visibility, r.kind, m.role FROM rooms r \
             LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = $2 WHERE r.id = $1",
        )
        .bind(room_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Access {
            room_id,
            name: r.get(0),
            visibility: Visibility::from_db(r.get(1)),
            kind: Kind::from_db(r.get(2)),
            role: r.get::<Option<String>, _>(3).map(|role| Role::from_db(&role)),
        }))
    }

    /// Renames a room or changes its visibility.
    pub async fn update(&self, id: i64, name: Option<&RoomName>, visibility: Option<Visibility>) -> ServiceResult<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(name) = name {
            sqlx::query("UPDATE rooms SET name = $1 WHERE id = $2")
                .bind(name.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| name_taken(e, format!("a room named \"{}\" already exists", name.as_str())))?;
        }
        if let Some(visibility) = visibility {
            sqlx::query("UPDATE rooms SET visibility = $1 WHERE id = $2")
                .bind(visibility.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| name_taken(e, "a public room of this name already exists; rename it first".into()))?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the room and its memberships. Returns the members it had, or
    /// `None` when it was already gone.
    pub async fn delete(&self, id: i64) -> ServiceResult<Option<Vec<i64>>> {
        let mut tx = self.pool.begin().await?;
        let members: Vec<i64> = sqlx::query_scalar("DELETE FROM room_members WHERE room_id = $1 RETURNING user_id")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM rooms WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok((gone == 1).then_some(members))
    }

    /// Adds a member. Returns false when they already were one.
    pub async fn add_member(&self, room_id: i64, user_id: i64, role: Role, now: i64) -> ServiceResult<bool> {
        insert_member(&self.pool, room_id, user_id, role, now).await
    }

    /// Removes a member. Returns false when they were not one.
    pub async fn remove_member(&self, room_id: i64, user_id: i64) -> ServiceResult<bool> {
        let removed = sqlx::query("DELETE FROM room_members WHERE room_id = $1 AND user_id = $2")
            .bind(room_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(removed == 1)
    }

    /// One member's role and join time; `None` for a non-member.
    pub async fn member(&self, room_id: i64, user_id: i64) -> ServiceResult<Option<(Role, i64)>> {
        let row = sqlx::query("SELECT role, joined_at FROM room_members WHERE room_id = $1 AND user_id = $2")
            .bind(room_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (Role::from_db(r.get(0)), r.get(1))))
    }

    /// Sets a member's role (never to or from owner: that is a transfer).
    /// Returns false when they are not a member, or are the owner.
    pub async fn set_role(&self, room_id: i64, user_id: i64, role: Role) -> ServiceResult<bool> {
        let changed =
            sqlx::query("UPDATE room_members SET role = $3 WHERE room_id = $1 AND user_id = $2 AND role <> 'owner'")
                .bind(room_id)
                .bind(user_id)
                .bind(role.as_str())
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(changed == 1)
    }

    /// Makes `to` the owner and `from` (the owner) an admin, together or not
    /// at all. Returns false when `from` no longer owns the room or `to` is
    /// not a member.
    pub async fn transfer(&self, room_id: i64, from: i64, to: i64) -> ServiceResult<bool> {
        let mut tx = self.pool.begin().await?;
        let demoted = sqlx::query(
            "UPDATE room_members SET role = 'admin' WHERE room_id = $1 AND user_id = $2 AND role = 'owner'",
        )
        .bind(room_id)
        .bind(from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let promoted = sqlx::query("UPDATE room_members SET role = 'owner' WHERE room_id = $1 AND user_id = $2")
            .bind(room_id)
            .bind(to)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if demoted != 1 || promoted != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Members with a user id above `after`, by user id: (user, joined, role).
    pub async fn members(&self, room_id: i64, after: i64, limit: i64) -> ServiceResult<Vec<(i64, i64, Role)>> {
        let rows = sqlx::query(
            "SELECT user_id, joined_at, role FROM room_members WHERE room_id = $1 AND user_id > $2 \
             ORDER BY user_id LIMIT $3",
        )
        .bind(room_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get(0), r.get(1), Role::from_db(r.get(2))))
            .collect())
    }

    /// Every member of a room (for telling a private room's members of a
    /// change).
    pub async fn member_ids(&self, room_id: i64) -> ServiceResult<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM room_members WHERE room_id = $1")
                .bind(room_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The DM between `low` and `high` (`low < high`), made with both as
    /// members if there is none yet. Returns its id and whether this call
    /// made it. Concurrent calls agree: the pair is unique, so all but one
    /// insert do nothing and then find the one that did.
    pub async fn open_dm(&self, low: i64, high: i64, creator: i64, now: i64) -> ServiceResult<(i64, bool)> {
        if let Some(id) = self.find_dm(low, high).await? {
            return Ok((id, false));
        }
        let mut tx = self.pool.begin().await?;
        let made: Option<i64> = sqlx::query_scalar(
            "INSERT INTO rooms (name, created_by, created_at, visibility, kind, dm_low, dm_high) \
             VALUES ('', $1, $2, 'private', 'dm', $3, $4) \
             ON CONFLICT (dm_low, dm_high) WHERE kind = 'dm' DO NOTHING RETURNING id",
        )
        .bind(creator)
        .bind(now)
        .bind(low)
        .bind(high)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = made else {
            tx.rollback().await?;
            let id = self
                .find_dm(low, high)
                .await?
                .ok_or_else(|| ServiceError::Unavailable("the direct message is being made; try again".into()))?;
            return Ok((id, false));
        };
        for user in [low, high] {
            insert_member(&mut *tx, id, user, Role::Member, now).await?;
        }
        tx.commit().await?;
        Ok((id, true))
    }

    async fn find_dm(&self, low: i64, high: i64) -> ServiceResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM rooms WHERE kind = 'dm' AND dm_low = $1 AND dm_high = $2")
                .bind(low)
                .bind(high)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Users who share a room with `user_id`, most recently joined first.
    /// Every room the user belongs to, ascending.
    pub async fn member_room_ids(&self, user_id: i64) -> ServiceResult<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT room_id FROM room_members WHERE user_id = $1 ORDER BY room_id")
                .bind(user_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn contacts(&self, user_id: i64, limit: i64) -> ServiceResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT o.user_id FROM room_members me \
             JOIN room_members o ON o.room_id = me.room_id AND o.user_id <> me.user_id \
             WHERE me.user_id = $1 GROUP BY o.user_id ORDER BY MAX(o.joined_at) DESC, o.user_id LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Makes `user_id` a member of `room_id` with `role`, alone or within a
/// transaction. Returns false when they already were one.
async fn insert_member<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    room_id: i64,
    user_id: i64,
    role: Role,
    now: i64,
) -> ServiceResult<bool> {
    let added = sqlx::query(
        "INSERT INTO room_members (room_id, user_id, joined_at, role) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (room_id, user_id) DO NOTHING",
    )
    .bind(room_id)
    .bind(user_id)
    .bind(now)
    .bind(role.as_str())
    .execute(executor)
    .await?
    .rows_affected();
    Ok(added == 1)
}

/// A unique violation on a room's name as `already_exists` with `message`;
/// any other error as it is.
fn name_taken(e: sqlx::Error, message: String) -> ServiceError {
    if is_unique_violation(&e) {
        ServiceError::AlreadyExists(message)
    } else {
        e.into()
    }
}
