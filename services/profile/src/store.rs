//! The profile service's tables: `profiles` and `avatars`.

use chat_platform::ServiceResult;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

#[derive(Debug, Clone)]
pub struct ProfileRow {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub avatar_id: Option<String>,
    pub status: String,
    pub created_at: i64,
}

const COLUMNS: &str = "user_id, first_name, last_name, avatar_id, status, created_at";

fn row(r: AnyRow) -> ProfileRow {
    ProfileRow {
        user_id: r.get(0),
        first_name: r.get(1),
        last_name: r.get(2),
        avatar_id: r.get(3),
        status: r.get(4),
        created_at: r.get(5),
    }
}

#[derive(Clone)]
pub struct ProfileStore {
    pool: AnyPool,
}

impl ProfileStore {
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Creates the profile, or returns the existing one unchanged (the auth
    /// service may retry).
    pub async fn create(&self, user_id: i64, first_name: &str, last_name: &str, now: i64) -> ServiceResult<ProfileRow> {
        sqlx::query(
            "INSERT INTO profiles (user_id, first_name, last_name, status, created_at, updated_at) \
             VALUES ($1, $2, $3, 'offline', $4, $4) ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(first_name)
        .bind(last_name)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(self.get(user_id).await?.expect("profile exists after insert"))
    }

    pub async fn get(&self, user_id: i64) -> ServiceResult<Option<ProfileRow>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM profiles WHERE user_id = $1"));
        Ok(sqlx::query(sql)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?
            .map(row))
    }

    pub async fn get_many(&self, ids: &[i64]) -> ServiceResult<Vec<ProfileRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = chat_platform::db::query_in(&format!("SELECT {COLUMNS} FROM profiles WHERE user_id IN"), ids);
        Ok(query.fetch_all(&self.pool).await?.into_iter().map(row).collect())
    }

    /// Profiles whose first, last or full name starts with `prefix`
    /// (case-insensitive), those in `prefer` first, then by name.
    pub async fn search(&self, prefix: &str, prefer: &[i64], limit: i64) -> ServiceResult<Vec<ProfileRow>> {
        let pattern = format!("{}%", escape_like(&prefix.to_lowercase()));
        let preferred = if prefer.is_empty() {
            "0".to_owned()
        } else {
            let placeholders: Vec<String> = (0..prefer.len()).map(|i| format!("${}", i + 3)).collect();
            format!("CASE WHEN user_id IN ({}) THEN 0 ELSE 1 END", placeholders.join(", "))
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM profiles \
             WHERE lower(first_name) LIKE $1 ESCAPE '\\' OR lower(last_name) LIKE $1 ESCAPE '\\' \
             OR lower(first_name || ' ' || last_name) LIKE $1 ESCAPE '\\' \
             ORDER BY {preferred}, lower(first_name), lower(last_name), user_id LIMIT $2"
        ));
        let query = sqlx::query(sql).bind(pattern).bind(limit);
        let query = prefer.iter().fold(query, |query, id| query.bind(*id));
        Ok(query.fetch_all(&self.pool).await?.into_iter().map(row).collect())
    }

    pub async fn update_names(
        &self,
        user_id: i64,
        first_name: &str,
        last_name: &str,
        now: i64,
    ) -> ServiceResult<Option<ProfileRow>> {
        sqlx::query("UPDATE profiles SET first_name = $1, last_name = $2, updated_at = $3 WHERE user_id = $4")
            .bind(first_name)
            .bind(last_name)
            .bind(now)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        self.get(user_id).await
    }

    pub async fn set_status(&self, user_id: i64, status: &str, now: i64) -> ServiceResult<Option<ProfileRow>> {
        sqlx::query("UPDATE profiles SET status = $1, updated_at = $2 WHERE user_id = $3")
            .bind(status)
            .bind(now)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        self.get(user_id).await
    }

    /// Stores a new avatar and points the profile at it, in one transaction;
    /// the previous image is deleted with it.
    pub async fn replace_avatar(
        &self,
        user_id: i64,
        avatar_id: &str,
        content_type: &str,
        data: &[u8],
        now: i64,
    ) -> ServiceResult<Option<ProfileRow>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO avatars (id, user_id, content_type, data, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(avatar_id)
            .bind(user_id)
            .bind(content_type)
            .bind(data)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE profiles SET avatar_id = $1, updated_at = $2 WHERE user_id = $3")
            .bind(avatar_id)
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM avatars WHERE user_id = $1 AND id <> $2")
            .bind(user_id)
            .bind(avatar_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get(user_id).await
    }

    pub async fn avatar(&self, avatar_id: &str) -> ServiceResult<Option<(String, Vec<u8>)>> {
        let row = sqlx::query("SELECT content_type, data FROM avatars WHERE id = $1")
            .bind(avatar_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }
}

/// `raw` with LIKE's wildcards (and the escape character) escaped.
fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
