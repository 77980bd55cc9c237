//! The one home of every JSON view the gateway sends, over REST and
//! Socket.IO alike: users, profiles, rooms, messages, plus how times,
//! presence and avatar URLs are written.

use chat_proto::auth::v1::{TokenPair, User};
use chat_proto::events::v1::ProfileEvent;
use chat_proto::messaging::v1::{Message, RoomUnread, SearchHit, Sender};
use chat_proto::profile::v1::{Profile, Status as Presence};
use chat_proto::room::v1::{MembershipFilter, Role, Room, RoomKind, UserRef, Visibility};
use serde::Serialize;

/// RFC 3339 in UTC with milliseconds, as every timestamp leaves the API.
pub fn rfc3339(ts: Option<prost_types::Timestamp>) -> String {
    let ts = ts.unwrap_or_default();
    chrono::DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Where this gateway serves an avatar. A new upload gets a new id, so
/// caches never show the old picture. `None` without an avatar.
pub fn avatar_url(avatar_id: &str) -> Option<String> {
    Some(avatar_id)
        .filter(|id| !id.is_empty())
        .map(|id| format!("/avatars/{id}"))
}

/// A presence status as the API names it.
pub fn status_name(online: bool) -> &'static str {
    if online { "online" } else { "offline" }
}

/// The profile service's status as a name.
pub fn profile_status(status: i32) -> &'static str {
    status_name(status == Presence::Online as i32)
}

/// A room's visibility as the API names it.
pub fn visibility_name(raw: i32) -> &'static str {
    match Visibility::try_from(raw) {
        Ok(Visibility::Private) => "private",
        _ => "public",
    }
}

/// `public` or `private` (absent: `None`, the service's default).
pub fn parse_visibility(raw: Option<&str>) -> Result<Visibility, &'static str> {
    match raw {
        None => Ok(Visibility::Unspecified),
        Some("public") => Ok(Visibility::Public),
        Some("private") => Ok(Visibility::Private),
        Some(_) => Err("visibility must be \"public\" or \"private\""),
    }
}

/// A room's kind as the API names it: `room` or `dm`.
pub fn kind_name(raw: i32) -> &'static str {
    match RoomKind::try_from(raw) {
        Ok(RoomKind::Dm) => "dm",
        _ => "room",
    }
}

/// A member's role as the API names it; `None` for a non-member.
pub fn role_name(raw: i32) -> Option<&'static str> {
    match Role::try_from(raw) {
        Ok(Role::Owner) => Some("owner"),
        Ok(Role::Admin) => Some("admin"),
        Ok(Role::Member) => Some("member"),
        _ => None,
    }
}

/// A role a member may be given: `admin` or `member` (or `owner`, which
/// the service refuses with a pointer to handing the room over).
pub fn parse_role(raw: &str) -> Result<Role, &'static str> {
    match raw {
        "owner" => Ok(Role::Owner),
        "admin" => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        _ => Err("role must be \"admin\" or \"member\""),
    }
}

/// The `membership` filter of a room listing: `all` (or absent), `joined`
/// or `not_joined`.
pub fn parse_membership(raw: Option<&str>) -> Result<MembershipFilter, &'static str> {
    match raw {
        None | Some("") | Some("all") => Ok(MembershipFilter::Unspecified),
        Some("joined") => Ok(MembershipFilter::Joined),
        Some("not_joined") => Ok(MembershipFilter::NotJoined),
        Some(_) => Err("membership must be \"all\", \"joined\" or \"not_joined\""),
    }
}

/// Another user as anyone may see them: never an email.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PublicUser {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub avatar_url: Option<String>,
}

impl PublicUser {
    fn new(id: i64, first_name: &str, last_name: &str, avatar_id: &str) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            avatar_url: avatar_url(avatar_id),
        }
    }

    /// Only the id, when the profile can't be read right now.
    pub fn bare(id: i64) -> Self {
        Self::new(id, "", "", "")
    }
}

impl From<&Sender> for PublicUser {
    fn from(s: &Sender) -> Self {
        Self::new(s.id, &s.first_name, &s.last_name, &s.avatar_id)
    }
}

impl From<&Profile> for PublicUser {
    fn from(p: &Profile) -> Self {
        Self::new(p.user_id, &p.first_name, &p.last_name, &p.avatar_id)
    }
}

impl From<&UserRef> for PublicUser {
    fn from(u: &UserRef) -> Self {
        Self::new(u.id, &u.first_name, &u.last_name, &u.avatar_id)
    }
}

impl From<&User> for PublicUser {
    fn from(u: &User) -> Self {
        Self::new(u.id, &u.first_name, &u.last_name, &u.avatar_id)
    }
}

/// `user_updated`: a public profile changed.
#[derive(Serialize)]
pub struct ProfileChanged {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub avatar_url: Option<String>,
}

impl From<&ProfileEvent> for ProfileChanged {
    fn from(p: &ProfileEvent) -> Self {
        let user = PublicUser::new(p.user_id, &p.first_name, &p.last_name, &p.avatar_id);
        Self {
            user_id: user.id,
            first_name: user.first_name,
            last_name: user.last_name,
            avatar_url: user.avatar_url,
        }
    }
}

/// The signed-in user, as they see themself (their own email included).
#[derive(Serialize)]
pub struct UserJson {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub avatar_url: Option<String>,
    pub status: String,
    pub created_at: String,
}

impl From<User> for UserJson {
    fn from(u: User) -> Self {
        Self {
            avatar_url: avatar_url(&u.avatar_id),
            id: u.id,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            status: u.status,
            created_at: rfc3339(u.create_time),
        }
    }
}

/// A public profile: never an email or anything about credentials.
#[derive(Serialize)]
pub struct ProfileJson {
    #[serde(flatten)]
    pub user: PublicUser,
    pub status: &'static str,
    pub created_at: String,
}

impl From<Profile> for ProfileJson {
    fn from(p: Profile) -> Self {
        Self {
            user: PublicUser::from(&p),
            status: profile_status(p.status),
            created_at: rfc3339(p.create_time),
        }
    }
}

#[derive(Serialize)]
pub struct TokensJson {
    pub token: String,
    pub token_expires_at: String,
    pub refresh_token: String,
    pub refresh_token_expires_at: String,
}

impl From<TokenPair> for TokensJson {
    fn from(t: TokenPair) -> Self {
        Self {
            token: t.access_token,
            token_expires_at: rfc3339(t.access_token_expire_time),
            refresh_token: t.refresh_token,
            refresh_token_expires_at: rfc3339(t.refresh_token_expire_time),
        }
    }
}

/// What register and login answer: the tokens and the user.
#[derive(Serialize)]
pub struct SessionJson {
    #[serde(flatten)]
    pub tokens: TokensJson,
    pub user: UserJson,
}

impl SessionJson {
    pub fn new(tokens: Option<TokenPair>, user: Option<User>) -> Self {
        Self {
            tokens: tokens.unwrap_or_default().into(),
            user: user.unwrap_or_default().into(),
        }
    }
}

#[derive(Serialize)]
pub struct CreatorJson {
    pub id: i64,
    pub name: String,
}

#[derive(Serialize)]
pub struct RoomJson {
    pub id: i64,
    pub name: String,
    pub created_by: CreatorJson,
    pub created_at: String,
    pub member_count: i64,
    pub is_member: bool,
    /// `public` or `private` (DMs are private).
    pub visibility: &'static str,
    /// `room` or `dm`.
    pub kind: &'static str,
    /// `owner`, `admin` or `member`; null when the caller is not a member.
    pub my_role: Option<&'static str>,
    /// For a DM, the other member's public profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_user: Option<PublicUser>,
    /// For a member: the room's latest seq, how far they have read, and
    /// their unread and unread-mention counts (0 for a non-member).
    pub last_seq: i64,
    pub last_read_seq: i64,
    pub unread_count: i64,
    pub mention_count: i64,
}

impl From<Room> for RoomJson {
    fn from(r: Room) -> Self {
        let creator = r.created_by.unwrap_or_default();
        Self {
            id: r.id,
            name: r.name,
            created_by: CreatorJson {
                id: creator.id,
                name: creator.name,
            },
            created_at: rfc3339(r.create_time),
            member_count: r.member_count,
            is_member: r.is_member,
            visibility: visibility_name(r.visibility),
            kind: kind_name(r.kind),
            my_role: role_name(r.my_role),
            other_user: r.other_user.as_ref().map(PublicUser::from),
            last_seq: r.last_seq,
            last_read_seq: r.last_read_seq,
            unread_count: r.unread_count,
            mention_count: r.mention_count,
        }
    }
}

/// A member in a room's member list: their public profile, role and when
/// they joined.
#[derive(Serialize)]
pub struct MemberJson {
    #[serde(flatten)]
    pub profile: ProfileJson,
    pub role: &'static str,
    pub joined_at: String,
}

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
