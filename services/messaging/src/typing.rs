//! Typing indicators. A `SetTyping {is_typing: true}` lasts
//! [`TYPING_TIMEOUT`] unless renewed; then the service itself announces the
//! stop, so a client that vanishes (or a gRPC caller that never says
//! "stopped") leaves no indicator behind. Only changes are announced.
//!
//! The timers live in the replica that heard the call: with several
//! messaging replicas, a typist whose calls alternate between them may see
//! an early stop from one, which the next renewal corrects.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chat_platform::ServiceResult;
use chat_platform::bus::room_channel;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::{Sender, TypingEvent};

use crate::MessagingService;

/// How long a `typing` lasts without another.
pub const TYPING_TIMEOUT: Duration = Duration::from_secs(5);

struct Timer {
    generation: u64,
    handle: tokio::task::JoinHandle<()>,
    user: Sender,
}

/// Who is typing where, each with the timer that will clear it.
#[derive(Default)]
pub struct Typing {
    timers: Mutex<HashMap<(i64, i64), Timer>>,
    generations: AtomicU64,
}

impl Typing {
    /// Arms or re-arms the timer; true when the user was not typing before.
    fn arm(&self, key: (i64, i64), timer: Timer) -> bool {
        match self.timers.lock().expect("lock").insert(key, timer) {
            Some(old) => {
                old.handle.abort();
                false
            }
            None => true,
        }
    }

    /// Disarms the timer; the typist when they were typing.
    fn disarm(&self, key: (i64, i64)) -> Option<Sender> {
        let timer = self.timers.lock().expect("lock").remove(&key)?;
        timer.handle.abort();
        Some(timer.user)
    }

    /// The timer of `generation` ran out; the typist unless it was replaced.
    fn expire(&self, key: (i64, i64), generation: u64) -> Option<Sender> {
        let mut timers = self.timers.lock().expect("lock");
        if timers.get(&key).is_some_and(|t| t.generation == generation) {
            return timers.remove(&key).map(|t| t.user);
        }
        None
    }
}

impl MessagingService {
    /// Records that `user_id` is (or stopped) typing in `room_id`, and
    /// announces it when that is news.
    pub(crate) async fn set_typing(&self, room_id: i64, user_id: i64, is_typing: bool) -> ServiceResult<()> {
        let key = (room_id, user_id);
        if !is_typing {
            self.stop_typing(room_id, user_id).await;
            return Ok(());
        }
        let user = self.inner.senders.one(user_id).await?;
        let generation = self.inner.typing.generations.fetch_add(1, Ordering::Relaxed);
        let this = self.clone();
        let handle = tokio::spawn(async move {
            tokio::time::sleep(TYPING_TIMEOUT).await;
            if let Some(user) = this.inner.typing.expire(key, generation) {
                this.announce_typing(room_id, user, false).await;
            }
        });
        let timer = Timer {
            generation,
            handle,
            user: user.clone(),
        };
        if self.inner.typing.arm(key, timer) {
            self.announce_typing(room_id, user, true).await;
        }
        Ok(())
    }

    /// Clears an indicator (on a send, say); nothing when there was none.
    pub(crate) async fn stop_typing(&self, room_id: i64, user_id: i64) {
        if let Some(user) = self.inner.typing.disarm((room_id, user_id)) {
            self.announce_typing(room_id, user, false).await;
        }
    }

    async fn announce_typing(&self, room_id: i64, user: Sender, is_typing: bool) {
        let event = Event::Typing(TypingEvent {
            room_id,
            user: Some(user),
            is_typing,
        });
        self.publish(&room_channel(room_id), event).await;
    }
}
