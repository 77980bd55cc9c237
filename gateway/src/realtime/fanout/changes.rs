//! Changes to stored messages (edits, deletes, reactions), read positions
//! and mentions, for local sockets.
//!
//! Changes follow the room's `change_seq` the way messages follow `seq`: the
//! feed remembers the last one emitted, drops repeats, and fills a gap from
//! the messaging service (`ListChanges`) before going on; the periodic
//! reconcile catches up too, so a lost publish is repaired. A change to a
//! message the feed has not emitted yet first brings the messages up to it
//! (read from the database, so already in their changed state). Sockets
//! still joining get changes held for them, like messages. Every change
//! event carries the message's new `change_seq`: clients apply one only
//! when it is greater than the one they hold for that message.

use chat_proto::messaging::v1::message_changed::Kind;
use chat_proto::messaging::v1::{ListChangesRequest, Mentioned, MessageChanged, ReadUpdated};
use serde_json::{Value, json};

use super::*;

/// A change event as sockets get it: its name and payload.
pub(super) fn change_event(change: &MessageChanged) -> Option<(&'static str, Value)> {
    let message = change.message.as_ref()?;
    let room_id = message.room_id;
    let change_seq = message.change_seq;
    let view = MessageJson::from(message);
    Some(match change.kind() {
        Kind::Deleted => (
            "message_deleted",
            json!({"room_id": room_id, "message_id": message.id, "seq": message.seq,
                   "change_seq": change_seq, "message": view, "by": change.actor_id}),
        ),
        Kind::Reaction => {
            let count = message
                .reactions
                .iter()
                .find(|r| r.emoji == change.emoji)
                .map_or(0, |r| r.count);
            (
                "reaction_changed",
                json!({"room_id": room_id, "message_id": message.id, "seq": message.seq,
                       "change_seq": change_seq, "emoji": change.emoji, "user_id": change.actor_id,
                       "added": change.added, "count": count, "reactions": view.reactions}),
            )
        }
        Kind::Replayed => (
            "message_updated",
            json!({"room_id": room_id, "message": view, "change_seq": change_seq, "replayed": true}),
        ),
        Kind::Edited | Kind::Unspecified => (
            "message_updated",
            json!({"room_id": room_id, "message": view, "change_seq": change_seq}),
        ),
    })
}

impl Fanout {
    pub(super) async fn deliver_change(&self, change: MessageChanged) {
        let Some(message) = change.message.as_ref() else {
            return;
        };
        let room_id = message.room_id;
        let Some(state) = self.feed(room_id).await else {
            return;
        };
        let mut state = state.lock().await;
        if message.change_seq <= state.last_change {
            return;
        }
        // The message itself first (from the database: in its changed state).
        if message.seq > state.last_seq {
            self.catch_up(room_id, &mut state, message.seq + 1).await;
        }
        if message.change_seq > state.last_change + 1 {
            self.catch_up_changes(room_id, &mut state).await;
            if message.change_seq <= state.last_change {
                return;
            }
        }
        if let Some((event, payload)) = change_event(&change) {
            self.emit_change(&mut state, room_id, event, payload).await;
        }
        state.last_change = message.change_seq;
    }

    /// Emits a change to the room's sockets, holding it for those still
    /// catching up.
    async fn emit_change(&self, state: &mut FeedState, room_id: i64, event: &'static str, payload: Value) {
        let to = self.inner.io.to(io_room(room_id));
        let to = if state.joiners.is_empty() {
            to
        } else {
            state.held_changes.push((event, payload.clone()));
            to.except(joining_room(room_id))
        };
        let _ = to.emit(event, &payload).await;
    }

    /// Emits the latest state of every message changed after the feed's
    /// change mark, and moves the mark.
    pub(super) async fn catch_up_changes(&self, room_id: i64, state: &mut FeedState) {
        loop {
            let request = match self
                .inner
                .tokens
                .request(ListChangesRequest {
                    room_id,
                    after_change: state.last_change,
                    page_size: 100,
                })
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(room_id, error = %e, "change catch-up postponed");
                    return;
                }
            };
            let page = match self.inner.messaging.clone().list_changes(request).await {
                Ok(p) => p.into_inner(),
                Err(status) => {
                    tracing::warn!(room_id, code = ?status.code(), "change catch-up postponed");
                    return;
                }
            };
            for message in page.messages {
                let change_seq = message.change_seq;
                // Messages the feed hasn't emitted yet go out as messages.
                if message.seq > state.last_seq || change_seq <= state.last_change {
                    continue;
                }
                let replayed = MessageChanged {
                    kind: Kind::Replayed as i32,
                    message: Some(message),
                    ..Default::default()
                };
                if let Some((event, payload)) = change_event(&replayed) {
                    self.emit_change(state, room_id, event, payload).await;
                }
                state.last_change = change_seq;
            }
            state.last_change = state.last_change.max(page.last_change);
            if !page.has_more {
                return;
            }
        }
    }

    pub(super) async fn deliver_read(&self, read: &ReadUpdated) {
        let payload = json!({"room_id": read.room_id, "user_id": read.user_id, "last_read_seq": read.last_read_seq});
        let _ = self
            .inner
            .io
            .to(io_room(read.room_id))
            .emit("read_updated", &payload)
            .await;
    }

    /// Tells each mentioned user's local sockets, whatever room they follow.
    pub(super) async fn deliver_mention(&self, mention: &Mentioned) {
        let Some(message) = mention.message.as_ref() else {
            return;
        };
        let view = MessageJson::from(message);
        for user_id in &mention.user_ids {
            let payload = json!({"room_id": message.room_id, "message": view, "user_id": user_id});
            let _ = self.inner.io.to(user_room(*user_id)).emit("mentioned", &payload).await;
        }
    }
}
