//! Changing a sent message: the rules on who may, the change itself (see
//! [`crate::changes`]), and the `MessageChanged` event after commit.

use chat_platform::ServiceError;
use chat_platform::ServiceResult;
use chat_platform::bus::room_channel;
use chat_platform::domain::{MessageContent, positive_id};
use chat_platform::token::AuthUser;
use chat_proto::messaging::v1::message_changed::Kind;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::{Message, MessageChanged};
use chat_proto::room::v1::Role;

use crate::MessagingService;
use crate::changes::{self, Change};
use crate::store::MessageRow;

impl MessagingService {
    /// Rows as messages with their senders and reactions, as `viewer` sees them.
    pub(crate) async fn view(&self, rows: Vec<MessageRow>, viewer: i64) -> ServiceResult<Vec<Message>> {
        let mut reactions = self.inner.store.reactions(&rows, viewer).await?;
        let mut messages = self.inner.senders.messages(rows).await?;
        for m in &mut messages {
            m.reactions = reactions.remove(&m.id).unwrap_or_default();
        }
        Ok(messages)
    }

    pub(crate) async fn edit(
        &self,
        caller: &AuthUser,
        room_id: i64,
        message_id: i64,
        content: &str,
    ) -> ServiceResult<Message> {
        let content = MessageContent::parse(content)?;
        self.require_member(room_id, message_id, caller).await?;
        let me = caller.user_id;
        let change = Change::Edit {
            content: content.as_str(),
        };
        let changed = self
            .inner
            .store
            .change(room_id, message_id, change, |row| {
                if row.user_id != me {
                    return Err(ServiceError::PermissionDenied(
                        "only the sender may edit a message".into(),
                    ));
                }
                Ok(())
            })
            .await?;
        self.announce(Kind::Edited, changed.row, me, "", false).await
    }

    pub(crate) async fn delete(&self, caller: &AuthUser, room_id: i64, message_id: i64) -> ServiceResult<Message> {
        self.require_member(room_id, message_id, caller).await?;
        let row = self.inner.store.get(room_id, message_id).await?;
        // Someone else's message: only the room's owner or an admin. (A
        // message's sender never changes, so this holds at the commit too.)
        if row.user_id != caller.user_id {
            let role = self.inner.members.role(room_id, caller.user_id).await?;
            if !matches!(role, Role::Owner | Role::Admin) {
                return Err(ServiceError::PermissionDenied(
                    "only the sender or a room owner or admin may delete a message".into(),
                ));
            }
        }
        let changed = self
            .inner
            .store
            .change(room_id, message_id, Change::Delete, |_| Ok(()))
            .await?;
        self.announce(Kind::Deleted, changed.row, caller.user_id, "", false)
            .await
    }

    pub(crate) async fn toggle_reaction(
        &self,
        caller: &AuthUser,
        room_id: i64,
        message_id: i64,
        emoji: &str,
    ) -> ServiceResult<(Message, bool)> {
        let emoji = changes::emoji(emoji)?;
        self.require_member(room_id, message_id, caller).await?;
        let change = Change::Toggle {
            emoji,
            user_id: caller.user_id,
        };
        let changed = self.inner.store.change(room_id, message_id, change, |_| Ok(())).await?;
        let added = changed.added;
        let message = self
            .announce(Kind::Reaction, changed.row, caller.user_id, emoji, added)
            .await?;
        Ok((message, added))
    }

    /// Fails unless the message id can name a message and the caller is a
    /// member of the room (whether the message is there, the change's own
    /// transaction finds out).
    async fn require_member(&self, room_id: i64, message_id: i64, caller: &AuthUser) -> ServiceResult<()> {
        positive_id("message_id", message_id)?;
        self.inner.members.require(room_id, caller.user_id).await
    }

    /// Publishes the change (after commit: reactions without `me`, which is
    /// each reader's own) and returns the message as the actor sees it.
    async fn announce(
        &self,
        kind: Kind,
        row: MessageRow,
        actor_id: i64,
        emoji: &str,
        added: bool,
    ) -> ServiceResult<Message> {
        let mine = self.view(vec![row], actor_id).await?.remove(0);
        let mut public = mine.clone();
        for reaction in &mut public.reactions {
            reaction.me = false;
        }
        let channel = room_channel(public.room_id);
        let event = MessageChanged {
            kind: kind as i32,
            message: Some(public),
            actor_id,
            emoji: emoji.to_owned(),
            added,
        };
        self.publish(&channel, Event::Change(event)).await;
        Ok(mine)
    }
}
