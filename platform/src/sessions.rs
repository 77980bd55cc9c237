//! Sessions that really end. The auth service publishes a
//! `chat.events.v1.SessionEvent` on [`SESSIONS_CHANNEL`] when a session
//! ends (logout, log out everywhere, a reused refresh token); every process
//! keeps the ended sessions in [`Revocations`], and its token verifiers
//! refuse their access tokens from then on. Gateways also close the
//! sessions' sockets, and the messaging service ends their event streams.
//!
//! The bus is at-most-once: a process that misses the event (its Redis link
//! was down at that moment) still honours the token until it expires, at
//! most the access-token lifetime.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chat_proto::events::v1::SessionEvent;
use prost::Message as _;

use crate::bus::{BusEvent, EventBus};
use crate::token::AuthUser;

/// The bus channel of session events.
pub const SESSIONS_CHANNEL: &str = "sessions";

/// Ended sessions are remembered this long: longer than any access token lives.
const REMEMBER_SECS: i64 = 24 * 3600;

/// The sessions this process knows to have ended. Cheap to clone.
#[derive(Clone, Default)]
pub struct Revocations {
    inner: Arc<Mutex<Ended>>,
}

#[derive(Default)]
struct Ended {
    /// Session id → when it ended (seconds since the Unix epoch).
    sessions: HashMap<Arc<str>, i64>,
}

/// Whether `event` ends the session of `user`.
pub fn ends(event: &SessionEvent, user: &AuthUser) -> bool {
    event.user_id == user.user_id && user.session_id.as_deref() == Some(event.session_id.as_str())
}

impl Revocations {
    /// Whether `user`'s token belongs to a session that ended.
    pub fn ended(&self, user: &AuthUser) -> bool {
        let ended = self.inner.lock().expect("lock");
        user.session_id
            .as_ref()
            .is_some_and(|sid| ended.sessions.contains_key(sid))
    }

    /// Records an ended session.
    pub fn apply(&self, event: &SessionEvent) {
        if event.session_id.is_empty() {
            return;
        }
        let now = chrono::Utc::now().timestamp();
        let end = event.end_time.map_or(now, |t| t.seconds);
        let mut ended = self.inner.lock().expect("lock");
        ended.sessions.insert(event.session_id.as_str().into(), end);
        ended.sessions.retain(|_, at| now - *at < REMEMBER_SECS);
    }

    /// Keeps this process's list current from the bus.
    pub fn follow(&self, bus: &EventBus) {
        let subscriber = bus.subscriber();
        let this = self.clone();
        tokio::spawn(async move {
            let mut events = subscriber.events();
            subscriber.subscribe(SESSIONS_CHANNEL).await;
            loop {
                match events.recv().await {
                    Ok(BusEvent::Message { channel, payload }) if channel.as_ref() == SESSIONS_CHANNEL => {
                        if let Ok(event) = SessionEvent::decode(payload) {
                            this.apply(&event);
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
}

/// Announces that sessions ended, to every process (this one included,
/// at once, whatever the bus does).
pub async fn announce(bus: &EventBus, revocations: &Revocations, event: SessionEvent) {
    revocations.apply(&event);
    if let Err(e) = bus.publish(SESSIONS_CHANNEL, event.encode_to_vec().into()).await {
        tracing::warn!(error = %e, user_id = event.user_id, "session end not published; other processes honour its tokens until they expire");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, sid: &str, issued_at: i64) -> AuthUser {
        AuthUser {
            user_id: id,
            expires_at: issued_at + 900,
            issued_at,
            session_id: Some(sid.into()),
        }
    }

    #[test]
    fn an_ended_session_and_no_other() {
        let revocations = Revocations::default();
        let now = chrono::Utc::now().timestamp();
        let event = SessionEvent {
            user_id: 1,
            session_id: "a".into(),
            end_time: None,
        };
        revocations.apply(&event);
        assert!(revocations.ended(&user(1, "a", now)));
        assert!(!revocations.ended(&user(1, "b", now)));
        assert!(ends(&event, &user(1, "a", now)));
        assert!(!ends(&event, &user(2, "a", now)));
    }
}
