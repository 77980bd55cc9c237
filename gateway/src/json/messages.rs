//! Messages as every surface sends them: the message itself (with its
//! reactions, as one reader or the whole room sees them), search hits and a
//! member's unread state.

use chat_proto::messaging::v1::{Message, RoomUnread, SearchHit};
use serde::Serialize;

use super::{PublicUser, rfc3339};

/// A message, the same on every surface.
#[derive(Serialize)]
pub struct MessageJson {
    pub id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub content: String,
    pub client_msg_id: Option<String>,
    pub created_at: String,
    /// `created_at` again, for the original app's clients.
    pub timestamp: String,
    pub user: PublicUser,
    /// When the content was last edited; null if never.
    pub edited_at: Option<String>,
    /// A tombstone: no content, no reactions.
    pub deleted: bool,
    pub reactions: Vec<ReactionJson>,
    /// Ids of the members the sender mentioned.
    pub mentions: Vec<i64>,
    /// The room's change_seq of the latest edit, delete or reaction change
    /// (0: never changed). Apply a change event only when its change_seq is
    /// greater than the one held.
    pub change_seq: i64,
}

/// One emoji's reactions to a message. `me` is left out of events sent to
/// a whole room (each reader's own; see `reaction_changed`).
#[derive(Debug, Serialize)]
pub struct ReactionJson {
    pub emoji: String,
    pub count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub me: Option<bool>,
}

impl MessageJson {
    /// The message as one reader sees it (`me` on each reaction).
    pub fn personal(m: &Message) -> Self {
        Self::build(m, true)
    }

    fn build(m: &Message, personal: bool) -> Self {
        let created_at = rfc3339(m.create_time);
        Self {
            id: m.id,
            room_id: m.room_id,
            seq: m.seq,
            content: m.content.clone(),
            client_msg_id: Some(m.client_msg_id.clone()).filter(|k| !k.is_empty()),
            timestamp: created_at.clone(),
            created_at,
            user: m.sender.as_ref().map(PublicUser::from).unwrap_or(PublicUser::bare(0)),
            edited_at: m.edit_time.map(|t| rfc3339(Some(t))),
            deleted: m.deleted,
            reactions: m
                .reactions
                .iter()
                .map(|r| ReactionJson {
                    emoji: r.emoji.clone(),
                    count: r.count,
                    me: personal.then_some(r.me),
                })
                .collect(),
            mentions: m.mentions.clone(),
            change_seq: m.change_seq,
        }
    }
}

/// The message as the whole room sees it (reactions without `me`).
impl From<&Message> for MessageJson {
    fn from(m: &Message) -> Self {
        Self::build(m, false)
    }
}

/// A search hit: where it is, who wrote it, and a snippet in runs, the
/// matching ones `highlighted` (render each run as text).
#[derive(Debug, Serialize)]
pub struct SearchHitJson {
    pub room_id: i64,
    pub message_id: i64,
    pub seq: i64,
    pub snippet: Vec<SnippetJson>,
    pub user: PublicUser,
    pub created_at: String,
}

#[derive(Debug, Serialize)]
pub struct SnippetJson {
    pub text: String,
    pub highlighted: bool,
}

impl From<&SearchHit> for SearchHitJson {
    fn from(h: &SearchHit) -> Self {
        Self {
            room_id: h.room_id,
            message_id: h.message_id,
            seq: h.seq,
            snippet: h
                .snippet
                .iter()
                .map(|p| SnippetJson {
                    text: p.text.clone(),
                    highlighted: p.highlighted,
                })
                .collect(),
            user: h.sender.as_ref().map(PublicUser::from).unwrap_or(PublicUser::bare(0)),
            created_at: rfc3339(h.create_time),
        }
    }
}

/// A member's reading state of a room.
#[derive(Debug, Serialize)]
pub struct UnreadJson {
    pub room_id: i64,
    pub last_seq: i64,
    pub last_read_seq: i64,
    pub unread_count: i64,
    pub mention_count: i64,
}

impl From<&RoomUnread> for UnreadJson {
    fn from(u: &RoomUnread) -> Self {
        Self {
            room_id: u.room_id,
            last_seq: u.last_seq,
            last_read_seq: u.last_read_seq,
            unread_count: u.unread_count,
            mention_count: u.mention_count,
        }
    }
}

/// A page of messages as the reader sees them, ascending by seq.
pub fn messages(page: &[Message]) -> Vec<MessageJson> {
    page.iter().map(MessageJson::personal).collect()
}

#[cfg(test)]
mod tests {
    use chat_proto::messaging::v1::Sender;

    use super::*;

    #[test]
    #[allow(deprecated)]
    fn a_message_never_carries_an_email() {
        let message = Message {
            id: 1,
            room_id: 2,
            seq: 3,
            sender: Some(Sender {
                id: 4,
                first_name: "Ana".into(),
                email: "ana@example.com".into(),
                avatar_id: "ab12".into(),
                ..Default::default()
            }),
            content: "hi".into(),
            ..Default::default()
        };
        let json = serde_json::to_value(MessageJson::from(&message)).unwrap();
        assert!(!json.to_string().contains("ana@example.com"), "{json}");
        assert_eq!(json["user"]["avatar_url"], "/avatars/ab12");
        assert!(json["client_msg_id"].is_null());
    }
}
