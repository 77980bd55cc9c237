//! The auth service's tables: `users` and `refresh_tokens`.

use chat_platform::error::is_unique_violation;
use chat_platform::{ServiceError, ServiceResult};
use sqlx::{AnyPool, Row};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub created_at: i64,
}

/// What rotating a refresh token found.
pub enum Rotation {
    Rotated {
        user_id: i64,
        family_id: String,
    },
    /// Unknown, expired, revoked, or its session is past its lifetime.
    Invalid,
    /// Already rotated once: the family has now been revoked.
    Reused {
        user_id: i64,
        family_id: String,
    },
}

const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens \
     (user_id, family_id, token_hash, created_at, expires_at, family_created_at) VALUES ($1, $2, $3, $4, $5, $6)";

#[derive(Clone)]
pub struct AuthStore {
    pool: AnyPool,
}

impl AuthStore {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    pub async fn insert_user(&self, email: &str, password_hash: &str, now: i64) -> ServiceResult<i64> {
        sqlx::query_scalar("INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    ServiceError::AlreadyExists("an account with this email already exists".into())
                } else {
                    e.into()
                }
            })
    }

    /// Undoes a registration whose profile could not be created.
    pub async fn delete_user(&self, id: i64) -> ServiceResult<()> {
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The user id and password hash for an email, if the account exists.
    pub async fn credentials(&self, email: &str) -> ServiceResult<Option<(i64, String)>> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Emails of the accounts among `ids` that exist.
    pub async fn emails(&self, ids: &[i64]) -> ServiceResult<Vec<(i64, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = chat_platform::db::query_in("SELECT id, email FROM users WHERE id IN", ids);
        Ok(query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    pub async fn user(&self, id: i64) -> ServiceResult<Option<UserRow>> {
        let row = sqlx::query("SELECT id, email, created_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| UserRow {
            id: r.get(0),
            email: r.get(1),
            created_at: r.get(2),
        }))
    }

    /// Starts a session: the first token of a new family.
    pub async fn insert_refresh_token(
        &self,
        user_id: i64,
        family_id: &str,
        token_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> ServiceResult<()> {
        sqlx::query(INSERT_TOKEN)
            .bind(user_id)
            .bind(family_id)
            .bind(token_hash)
            .bind(now)
            .bind(expires_at)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks the token behind `old_hash` used and stores `new_hash` in its
    /// family, in one transaction. A token used twice revokes its family; a
    /// family that began before `started_after` is past its lifetime.
    pub async fn rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
        expires_at: i64,
        started_after: i64,
    ) -> ServiceResult<Rotation> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT id, user_id, family_id, expires_at, used_at, revoked_at, family_created_at \
             FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Rotation::Invalid);
        };
        let id: i64 = row.get(0);
        let user_id: i64 = row.get(1);
        let family: String = row.get(2);
        let expires: i64 = row.get(3);
        let used: Option<i64> = row.get(4);
        let revoked: Option<i64> = row.get(5);
        let family_created: i64 = row.get(6);
        if revoked.is_some() || expires <= now || family_created < started_after {
            return Ok(Rotation::Invalid);
        }
        let claimed = if used.is_none() {
            sqlx::query(
                "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1
        } else {
            false
        };
        if !claimed {
            tx.rollback().await?;
            self.revoke_family(&family, now).await?;
            return Ok(Rotation::Reused {
                user_id,
                family_id: family,
            });
        }
        sqlx::query(INSERT_TOKEN)
            .bind(user_id)
            .bind(&family)
            .bind(new_hash)
            .bind(now)
            .bind(expires_at)
            .bind(family_created)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Rotation::Rotated {
            user_id,
            family_id: family,
        })
    }

    /// Revokes every open session of `user_id`; returns their ids.
    pub async fn revoke_all(&self, user_id: i64, now: i64) -> ServiceResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let open: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(open)
    }

    pub async fn revoke_family(&self, family_id: &str, now: i64) -> ServiceResult<()> {
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(family_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes the session (token family) a refresh token belongs to, if it
    /// is `user_id`'s. Returns the session's id when anything matched.
    pub async fn revoke_session(&self, user_id: i64, token_hash: &str, now: i64) -> ServiceResult<Option<String>> {
        let family: Option<String> =
            sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2")
                .bind(token_hash)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(family) = &family {
            self.revoke_family(family, now).await?;
        }
        Ok(family)
    }
}
