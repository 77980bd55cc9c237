//! Replays the fuzz targets' seeds and every input that ever crashed one
//! (`fuzz/seeds/`, `fuzz/regressions/`) through the same entry points the
//! libFuzzer targets call, so `cargo test` keeps fixed bugs fixed.

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut found = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                found.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(!found.is_empty(), "no inputs for {target}");
    found
}

fn replay(target: &str, run: fn(&[u8])) {
    for (path, data) in inputs(target) {
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panics again", path.display());
    }
}

#[test]
fn socketio_payload() {
    replay("socketio_payload", chat_gateway::fuzzing::socketio_payload);
}

#[test]
fn rest_bodies() {
    replay("rest_bodies", chat_gateway::fuzzing::rest_bodies);
}

#[test]
fn access_token() {
    replay("access_token", chat_platform::fuzzing::access_token);
}

#[test]
fn avatar() {
    replay("avatar", chat_profile::avatar::fuzz);
}
