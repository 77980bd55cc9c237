//! The generated signing key lives in the data directory, so a restart does
//! not sign everyone out.

mod support;

use support::{Backend, spawn_app, spawn_app_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_stay_valid_across_a_restart() {
    let app = spawn_app(Backend::Sqlite).await;
    let session = app.register("stay@example.com", "Sam").await;
    let token = session["token"].as_str().unwrap().to_owned();
    let (temp, dir, pg) = app.shutdown_keep_data().await;

    let again = spawn_app_in(Backend::Sqlite, temp, dir, pg).await;
    let (status, me) = again.get("/auth/me", Some(&token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "stay@example.com");
    again.stop().await;
}
