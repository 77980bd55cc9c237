//! Entry points for the fuzz targets (`fuzz/`) and their regression corpus
//! (replayed by `tests/fuzz_corpus.rs`): the parsers that face untrusted
//! bytes first. Each must return, never panic, on any input.

use serde_json::Value;

use crate::extract::parse_json;
use crate::realtime::wire;

/// A Socket.IO event's payload, as the client sent it (JSON text), through
/// the payload rule and every event's parser.
pub fn socketio_payload(data: &[u8]) {
    let decoded = serde_json::from_slice::<Value>(data).map_err(|_| socketio_error());
    let text = Value::String(String::from_utf8_lossy(data).into_owned());
    for value in [decoded, Ok(text)] {
        if let Ok(payload) = wire::payload(value) {
            let _ = wire::parse::<wire::JoinRoom>(&payload);
            let _ = wire::parse::<wire::RoomOnly>(&payload);
            let _ = wire::parse::<wire::SendMessage>(&payload);
            let _ = wire::parse::<wire::Typing>(&payload);
            let _ = wire::parse::<wire::GetMessages>(&payload);
            let _ = wire::parse::<wire::Authenticate>(&payload);
        }
    }
}

fn socketio_error() -> socketioxide::ParserError {
    socketioxide::ParserError::new(std::io::Error::other("not JSON"))
}

/// Every REST JSON body the gateway accepts.
pub fn rest_bodies(data: &[u8]) {
    let _ = parse_json::<crate::routes::auth::RegisterBody>(data);
    let _ = parse_json::<crate::routes::auth::LoginBody>(data);
    let _ = parse_json::<crate::routes::auth::RefreshBody>(data);
    let _ = parse_json::<crate::routes::profile::UpdateBody>(data);
    let _ = parse_json::<crate::routes::rooms::CreateBody>(data);
}
