//! Opening a service's own database and applying its migrations.
//!
//! Every service reads its own URL (`<SERVICE>_DATABASE_URL`, else the shared
//! `DATABASE_URL`). On PostgreSQL each service lives in its own schema; with
//! no URL at all each gets a SQLite file in the data directory. Queries go
//! through sqlx's `Any` driver, so one set of parameterised SQL serves both.
//!
//! TLS to PostgreSQL follows libpq's URL parameters: `sslmode` (`disable`,
//! `prefer`, the default, `require`, `verify-ca`, `verify-full`),
//! `sslrootcert`, and `sslcert` + `sslkey` for client certificates. Under
//! `require` and the `verify-*` modes a server without TLS is refused,
//! never used in plaintext.

use std::fmt;
use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, AssertSqlSafe, Executor};

use crate::config::{self, ConfigError};
use crate::service::Service;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A database URL whose `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Result<Self, ConfigError> {
        let url = url.into();
        let ok = url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:");
        if !ok {
            return Err(ConfigError {
                name: "DATABASE_URL".into(),
                shown: redact(&url),
                reason: "expected postgres://user@host/db or sqlite://path/file.db".into(),
            });
        }
        Ok(Self(url))
    }

    /// The URL itself, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn backend(&self) -> Backend {
        if self.0.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    /// A SQLite file in `dir`, created when missing.
    pub fn sqlite_file(dir: &Path, file: &str) -> Self {
        Self(format!("sqlite://{}?mode=rwc", dir.join(file).display()))
    }

    /// The service's URL: `<SERVICE>_DATABASE_URL`, else `DATABASE_URL`, else
    /// a SQLite file named after the service in `data_dir`.
    pub fn for_service(service: Service, data_dir: &Path) -> Result<Self, ConfigError> {
        match config::optional(&service.database_variable()).or_else(|| config::optional("DATABASE_URL")) {
            Some(url) => Self::new(url),
            None => Ok(Self::sqlite_file(data_dir, &format!("{service}.db"))),
        }
    }
}

fn redact(url: &str) -> String {
    // postgres://user:secret@host/db -> postgres://user:***@host/db
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &creds[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

/// The migrations of one service, one set per backend.
pub struct Migrations {
    pub postgres: Migrator,
    pub sqlite: Migrator,
}

/// An open, migrated pool for one service.
#[derive(Clone)]
pub struct Database {
    pub pool: AnyPool,
    pub backend: Backend,
}

static DRIVERS: Once = Once::new();

/// Opens the service's database, retrying while the server is unreachable,
/// and applies its migrations. On PostgreSQL, the service's schema is
/// created when missing and put first on every connection's search path.
pub async fn connect(url: &DatabaseUrl, service: Service, migrations: Option<&Migrations>) -> anyhow::Result<Database> {
    let schema = service.as_str();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    crate::tls::install_provider();
    let backend = url.backend();
    if backend == Backend::Sqlite {
        ensure_sqlite_dir(url.expose())?;
    }
    let max: u32 = config::parse_or("DATABASE_MAX_CONNECTIONS", 10)?;
    let options: AnyConnectOptions = url
        .expose()
        .parse()
        .with_context(|| format!("parsing database URL {url}"))?;
    let pool_options = AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(5))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                match backend {
                    Backend::Postgres => {
                        conn.execute(AssertSqlSafe(format!("SET search_path TO \"{schema}\""))).await?;
                    }
                    Backend::Sqlite => {
                        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
                            .await?;
                    }
                }
                Ok(())
            })
        });

    let mut delay = Duration::from_millis(200);
    let mut attempt = 0;
    let pool = loop {
        attempt += 1;
        match pool_options.clone().connect_with(options.clone()).await {
            Ok(pool) => break pool,
            // A TLS failure (untrusted certificate, wrong host name, a
            // server without TLS under sslmode=require) won't mend itself.
            Err(e) if matches!(e, sqlx::Error::Tls(_)) || crate::tls::is_tls_failure(&e) => {
                return Err(anyhow::anyhow!(
                    "TLS to {url} failed: {e} (check sslmode, sslrootcert and the host name the certificate names)"
                ));
            }
            Err(e) if attempt < 10 => {
                tracing::warn!(%url, error = %e, attempt, "database not reachable yet, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e).with_context(|| format!("connecting to {url}")),
        }
    };
    if backend == Backend::Postgres {
        let created = pool
            .execute(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")))
            .await;
        // Two services creating the schema at once race on the catalog.
        match created {
            Err(e) if !crate::error::is_unique_violation(&e) => {
                return Err(e).context("creating schema");
            }
            _ => {}
        }
    }
    let db = Database { pool, backend };
    if let Some(migrations) = migrations {
        db.migrate(migrations).await?;
    }
    Ok(db)
}

impl Database {
    pub async fn migrate(&self, migrations: &Migrations) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Postgres => &migrations.postgres,
            Backend::Sqlite => &migrations.sqlite,
        };
        migrator.run(&self.pool).await.context("applying migrations")?;
        Ok(())
    }

    /// Whether the database answers, for health reports.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// `{select} ($1, $2, …)` with one placeholder per id, each id bound, never
/// interpolated: for `… WHERE id IN` batch reads.
pub fn query_in(select: &str, ids: &[i64]) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("{select} ({})", placeholders.join(", "));
    ids.iter()
        .fold(sqlx::query(AssertSqlSafe(sql)), |query, id| query.bind(*id))
}

fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating data directory {}", parent.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl::new("postgres://chat:hunter2@db:5432/chat").unwrap();
        assert_eq!(format!("{url:?}"), "postgres://chat:***@db:5432/chat");
        assert!(!url.to_string().contains("hunter2"));
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let err = DatabaseUrl::new("mysql://root@localhost/chat").unwrap_err();
        assert!(err.to_string().contains("postgres://"), "{err}");
    }
}
