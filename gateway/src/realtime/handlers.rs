//! One function per client event. Each goes to a service over gRPC with the
//! user's token, so the services decide what is allowed; the gateway adds
//! what is about sockets: following rooms, history on join, typing state.
//!
//! One fallback handler per socket dispatches by event name (cheaper per
//! connection than a handler per event), and every event goes through
//! [`Incoming`]: its payload, its turn in its room's lane, its ack.

use chat_proto::messaging::v1::{
    DeleteMessageRequest, EditMessageRequest, ListChangesRequest, ListMessagesRequest, ListMessagesResponse,
    MarkReadRequest, Message, SendMessageRequest, ToggleReactionRequest,
};
use chat_proto::room::v1::JoinRoomRequest;
use serde_json::{Value, json};
use socketioxide::extract::{AckSender, Event, SocketRef, State};
use tracing::Instrument;

use super::Realtime;

/// The most messages a rejoin with `since` gets at once; older ones are
/// paged with `get_messages`.
pub const CATCH_UP_PAGE: usize = 200;
use super::fanout::io_room;
use super::session::Incoming;
use super::wire::{self, EventError};
use crate::json::{self, RoomJson};
use crate::routes::messages::history_request;

/// Registers the socket's handlers.
pub(super) fn register(socket: &SocketRef) {
    socket.on_fallback(
        async |s: SocketRef,
               Event(event): Event,
               mut incoming: Incoming,
               ack: AckSender,
               State(rt): State<Realtime>| {
            incoming.turn.wait().await;
            // One span per event: the root of the user action's trace.
            let span = tracing::info_span!("socketio", event = %event, trace_id = tracing::field::Empty);
            chat_platform::telemetry::record_trace_id(&span);
            let result = async {
                let data = incoming.payload?;
                rt.dispatch(&s, &event, data).await
            }
            .instrument(span)
            .await;
            respond(&s, ack, incoming.ack_requested, &event, result);
        },
    );
    socket.on_disconnect(
        async |s: SocketRef, reason: socketioxide::socket::DisconnectReason, State(rt): State<Realtime>| {
            tracing::debug!(socket = %s.id, ?reason, "socket disconnected");
            rt.disconnected(&s).await
        },
    );
}

/// Sends the outcome as an ack when one was asked for, else failures as an
/// `error` event.
fn respond(socket: &SocketRef, ack: AckSender, requested: bool, event: &str, result: Result<Value, EventError>) {
    match (result, requested) {
        (Ok(mut value), true) => {
            if let Value::Object(map) = &mut value {
                map.insert("ok".into(), Value::Bool(true));
            }
            let _ = ack.send(&value);
        }
        (Ok(_), false) => {}
        (Err(e), true) => {
            let _ = ack.send(&json!({"ok": false, "error": e}));
        }
        (Err(e), false) => {
            let mut error = serde_json::to_value(&e).unwrap_or_default();
            error["event"] = json!(event);
            let _ = socket.emit("error", &error);
        }
    }
}

impl Realtime {
    async fn dispatch(&self, socket: &SocketRef, event: &str, data: Value) -> Result<Value, EventError> {
        match event {
            "join_room" => self.join_room(socket, data).await,
            "leave_room" => self.leave_room(socket, data).await,
            "send_message" => self.send_message(socket, data).await,
            "typing" => self.typing(socket, data).await,
            "get_messages" => self.get_messages(socket, data).await,
            "edit_message" => self.edit_message(socket, data).await,
            "delete_message" => self.delete_message(socket, data).await,
            "react" => self.react(socket, data).await,
            "mark_read" => self.mark_read(socket, data).await,
            "authenticate" => self.authenticate(socket, data).await,
            // Presence is tracked from the connection itself.
            "user_online" => Ok(json!({})),
            _ => Err(EventError::new("unknown_event", format!("unknown event `{event}`"))),
        }
    }

    async fn join_room(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::JoinRoom = wire::parse(&data)?;
        if req.since.is_some_and(|s| s < 0) || req.since_change.is_some_and(|s| s < 0) {
            return Err(EventError::new(
                "invalid_argument",
                "since and since_change must not be negative",
            ));
        }
        let joined = self
            .clients
            .room
            .clone()
            .join_room(session.request(JoinRoomRequest { room_id: req.room_id }))
            .await?
            .into_inner();
        // A new membership is announced from the room service's event (for
        // every way of joining); another tab of a member is not news.
        let mut following = self.follow(socket, &session, req.room_id, req.since).await?;
        let history = match req.since {
            Some(since) => {
                self.catch_up_page(&session, req.room_id, since, following.watermark)
                    .await
            }
            None => self
                .list(&session, req.room_id, 50, following.watermark + 1, 0)
                .await
                .map(|page| (page.messages, page.has_more)),
        };
        let changed = match (history, req.since, req.since_change) {
            (Ok(history), Some(since), Some(after)) => self
                .changes_up_to(&session, req.room_id, after, since)
                .await
                .map(|changes| (history, changes)),
            (Ok(history), _, _) => Ok((history, (Vec::new(), following.change_mark))),
            (Err(e), _, _) => Err(e),
        };
        let ((messages, has_more), (changes, last_change)) = match changed {
            Ok(found) => found,
            Err(e) => {
                self.abandon(socket, following).await;
                return Err(e);
            }
        };
        let room = RoomJson::from(joined.room.unwrap_or_default());
        let _ = socket.emit("joined_room", &json!({"room_id": req.room_id, "room": room}));
        let _ = socket.emit(
            "messages_history",
            &json!({
                "room_id": req.room_id,
                "messages": json::messages(&messages),
                "has_more": has_more,
                "since": req.since,
                "changes": json::messages(&changes),
                "last_change": last_change,
            }),
        );
        // Only now does the socket take live messages: what the feed
        // delivered meanwhile is sent first, in order, so the socket sees
        // every seq once, strictly increasing.
        self.go_live(socket, &session, &mut following).await?;
        Ok(json!({"room_id": req.room_id, "count": messages.len()}))
    }

    /// The newest [`CATCH_UP_PAGE`] messages with `since < seq <= until`, in
    /// order, and whether older ones after `since` were left out (the client
    /// pages back for them with `get_messages`).
    async fn catch_up_page(
        &self,
        session: &super::Session,
        room_id: i64,
        since: i64,
        until: i64,
    ) -> Result<(Vec<Message>, bool), EventError> {
        let mut newest_first: Vec<Message> = Vec::new();
        let mut before = until + 1;
        while before > since + 1 && newest_first.len() < CATCH_UP_PAGE {
            let want = (CATCH_UP_PAGE - newest_first.len()).min(100) as i32;
            let page = self.list(session, room_id, want, before, 0).await?;
            let Some(first) = page.messages.first() else {
                break;
            };
            before = first.seq;
            newest_first.extend(page.messages.into_iter().rev().filter(|m| m.seq > since));
            if !page.has_more {
                break;
            }
        }
        newest_first.reverse();
        // Seqs are gap-free: anything between `since` and the first one
        // returned was left out.
        let has_more = newest_first.first().is_some_and(|m| m.seq > since + 1);
        Ok((newest_first, has_more))
    }

    /// The latest state of messages up to seq `until` changed after change
    /// `after` (those after `until` are in the history already), and the
    /// change_seq the client holds once it has them.
    async fn changes_up_to(
        &self,
        session: &super::Session,
        room_id: i64,
        mut after: i64,
        until: i64,
    ) -> Result<(Vec<Message>, i64), EventError> {
        let mut changed = Vec::new();
        loop {
            let page = self
                .clients
                .messaging
                .clone()
                .list_changes(session.request(ListChangesRequest {
                    room_id,
                    after_change: after,
                    page_size: 100,
                }))
                .await?
                .into_inner();
            after = page.messages.last().map_or(after, |m| m.change_seq);
            changed.extend(page.messages.into_iter().filter(|m| m.seq <= until));
            if !page.has_more {
                return Ok((changed, after.max(page.last_change)));
            }
        }
    }

    /// One page of a room's history, as the socket's user.
    async fn list(
        &self,
        session: &super::Session,
        room_id: i64,
        page_size: i32,
        before_seq: i64,
        after_seq: i64,
    ) -> Result<ListMessagesResponse, EventError> {
        let request = session.request(ListMessagesRequest {
            room_id,
            page_size,
            before_seq,
            after_seq,
        });
        Ok(self
            .clients
            .messaging
            .clone()
            .list_messages(request)
            .await?
            .into_inner())
    }
    async fn leave_room(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::RoomOnly = wire::parse(&data)?;
        self.stop_typing(&session, req.room_id).await;
        let was_in = self.unfollow(socket, &session, req.room_id).await;
        if was_in {
            let _ = socket
                .to(io_room(req.room_id))
                .emit("user_left", &json!({"room_id": req.room_id, "user": session.user()}))
                .await;
        }
        let _ = socket.emit("left_room", &json!({"room_id": req.room_id}));
        Ok(json!({"room_id": req.room_id, "left": was_in}))
    }

    async fn send_message(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::SendMessage = wire::parse(&data)?;
        // The service clears the sender's typing indicator with the send.
        session.typing.lock().expect("lock").remove(&req.room_id);
        let response = self
            .clients
            .messaging
            .clone()
            .send_message(session.request(SendMessageRequest {
                room_id: req.room_id,
                content: req.content,
                client_msg_id: req.client_msg_id.unwrap_or_default(),
                mentions: req.mentions,
            }))
            .await?
            .into_inner();
        let message = response.message.unwrap_or_default();
        Ok(json!({"message": json::MessageJson::from(&message), "created": response.created}))
    }

    async fn edit_message(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::EditMessage = wire::parse(&data)?;
        let response = self
            .clients
            .messaging
            .clone()
            .edit_message(session.request(EditMessageRequest {
                room_id: req.room_id,
                message_id: req.message_id,
                content: req.content,
            }))
            .await?
            .into_inner();
        Ok(json!({"message": response.message.as_ref().map(json::MessageJson::personal)}))
    }

    async fn delete_message(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::MessageRef = wire::parse(&data)?;
        let response = self
            .clients
            .messaging
            .clone()
            .delete_message(session.request(DeleteMessageRequest {
                room_id: req.room_id,
                message_id: req.message_id,
            }))
            .await?
            .into_inner();
        Ok(json!({"message": response.message.as_ref().map(json::MessageJson::personal)}))
    }

    async fn react(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::React = wire::parse(&data)?;
        let response = self
            .clients
            .messaging
            .clone()
            .toggle_reaction(session.request(ToggleReactionRequest {
                room_id: req.room_id,
                message_id: req.message_id,
                emoji: req.emoji,
            }))
            .await?
            .into_inner();
        Ok(json!({
            "message": response.message.as_ref().map(json::MessageJson::personal),
            "added": response.added,
        }))
    }

    async fn mark_read(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::MarkRead = wire::parse(&data)?;
        let response = self
            .clients
            .messaging
            .clone()
            .mark_read(session.request(MarkReadRequest {
                room_id: req.room_id,
                seq: req.seq,
            }))
            .await?
            .into_inner();
        Ok(serde_json::to_value(json::UnreadJson::from(&response.unread.unwrap_or_default())).unwrap_or_default())
    }

    async fn typing(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::Typing = wire::parse(&data)?;
        self.set_typing(&session, req.room_id, req.is_typing).await?;
        Ok(json!({}))
    }

    async fn get_messages(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session = self.session(socket, &data).await?;
        let req: wire::GetMessages = wire::parse(&data)?;
        let request = history_request(req.room_id, req.limit, req.before.map(|b| b.max(0)))?;
        let page = self
            .list(&session, req.room_id, request.page_size, request.before_seq, 0)
            .await?;
        let payload =
            json!({"room_id": req.room_id, "messages": json::messages(&page.messages), "has_more": page.has_more});
        let _ = socket.emit("messages_history", &payload);
        Ok(json!({"room_id": req.room_id, "count": page.messages.len(), "has_more": page.has_more}))
    }

    async fn authenticate(&self, socket: &SocketRef, data: Value) -> Result<Value, EventError> {
        let session: std::sync::Arc<super::Session> = socket
            .extensions
            .get()
            .ok_or_else(|| EventError::new("unauthenticated", "not signed in"))?;
        let req: wire::Authenticate = wire::parse(&data)?;
        self.renew(&session, &req.token).await?;
        Ok(json!({"expires_at": session.token().1}))
    }
}
