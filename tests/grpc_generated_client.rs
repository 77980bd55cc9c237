//! A client generated from proto/ by a standard generator (Python
//! grpcio-tools) resumes `MessagingService/StreamEvents` without a race:
//! tests/grpc_python/resume_test.py runs against the app, on the embedded
//! default and on PostgreSQL + Redis. Needs python3 with grpcio-tools
//! (`python3 -m pip install --user grpcio-tools`; .ci/run installs it): the
//! test fails, and says so, when they are missing.

mod support;

use std::path::Path;
use std::time::Duration;

use support::TestApp;
use tokio::process::Command;

backend_tests!(a_generated_python_client_resumes_streams_in_order_without_repeats);

const INSTALL: &str = "install it with `python3 -m pip install --user grpcio-tools` (pip install grpcio-tools)";

async fn a_generated_python_client_resumes_streams_in_order_without_repeats(app: &TestApp) {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import grpc, grpc_tools.protoc"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}): this test needs python3 with grpcio-tools; {INSTALL}"));
    assert!(
        probe.status.success(),
        "{python} cannot import grpc_tools: this test needs grpcio-tools; {INSTALL}\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpc_python/resume_test.py");
    let run = Command::new(&python)
        .arg(&script)
        .arg(&app.http)
        .arg(&app.grpc)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("resume_test.py did not finish within 5 minutes")
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "resume_test.py failed ({}) on {:?}:\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status,
        app.backend
    );
    assert!(
        stdout.contains("resume_test: all checks passed"),
        "resume_test.py exited 0 without finishing:\n{stdout}\n{stderr}"
    );
    // Shown with --nocapture.
    println!("{stdout}");
}
