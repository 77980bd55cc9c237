//! Typing, socket side. The messaging service owns the indicator and its
//! 5 s expiry; the gateway forwards what the socket says and remembers where
//! it said it, so leaving a room or closing the tab clears it at once.

use chat_proto::messaging::v1::SetTypingRequest;

use super::Realtime;
use super::session::Session;
use super::wire::EventError;

impl Realtime {
    pub(super) async fn set_typing(&self, session: &Session, room_id: i64, is_typing: bool) -> Result<(), EventError> {
        if !is_typing {
            self.stop_typing(session, room_id).await;
            return Ok(());
        }
        self.clients
            .messaging
            .clone()
            .set_typing(session.request(SetTypingRequest { room_id, is_typing }))
            .await?;
        session.typing.lock().expect("lock").insert(room_id);
        Ok(())
    }

    /// Clears the socket's indicator in `room_id`, if it set one.
    pub(super) async fn stop_typing(&self, session: &Session, room_id: i64) {
        if !session.typing.lock().expect("lock").remove(&room_id) {
            return;
        }
        let request = session.request(SetTypingRequest {
            room_id,
            is_typing: false,
        });
        if let Err(status) = self.clients.messaging.clone().set_typing(request).await {
            tracing::debug!(code = ?status.code(), "typing stop not sent");
        }
    }
}
