//! `chat migrate` as an operator runs it (a Kubernetes Job): a real OS
//! process on an empty database, which must leave every service's tables.

mod support;

use std::process::Stdio;

use chat_platform::service::Service;
use sqlx::AnyPool;

/// One table per service that its first migration creates.
fn a_table_of(service: Service) -> &'static str {
    match service {
        Service::Auth => "users",
        Service::Profile => "profiles",
        Service::Room => "room_members",
        Service::Messaging => "messages",
    }
}

async fn migrate(env: &[(&str, String)]) {
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat"))
        .arg("migrate")
        .env_clear()
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .status()
        .await
        .expect("run chat migrate");
    assert!(status.success(), "chat migrate failed: {status}");
}

#[tokio::test]
async fn migrate_creates_every_services_tables_on_an_empty_postgres() {
    let (name, url) = support::create_pg_database().await;
    let data = tempfile::tempdir().unwrap();
    migrate(&[
        ("DATABASE_URL", url.clone()),
        ("DATA_DIR", data.path().display().to_string()),
    ])
    .await;

    let pool = AnyPool::connect(&url).await.unwrap();
    for service in Service::all() {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
        )
        .bind(service.as_str())
        .bind(a_table_of(service))
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(found, 1, "{service}: table {} missing", a_table_of(service));
    }
    pool.close().await;
    let admin = AnyPool::connect(&support::admin_url()).await.unwrap();
    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&admin).await.unwrap();
}

#[tokio::test]
async fn migrate_creates_every_services_sqlite_file() {
    sqlx::any::install_default_drivers();
    let data = tempfile::tempdir().unwrap();
    migrate(&[("DATA_DIR", data.path().display().to_string())]).await;
    for service in Service::all() {
        let file = data.path().join(format!("{service}.db"));
        let pool = AnyPool::connect(&format!("sqlite://{}", file.display())).await.unwrap();
        let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1")
            .bind(a_table_of(service))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(found, 1, "{service}: table {} missing", a_table_of(service));
        pool.close().await;
    }
}
