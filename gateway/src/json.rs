//! The one home of every JSON view the gateway sends, over REST and
//! Socket.IO alike: users, profiles, rooms, messages, plus how times,
//! presence and avatar URLs are written.

mod messages;

pub use messages::*;

use chat_proto::auth::v1::{TokenPair, User};
use chat_proto::events::v1::ProfileEvent;
use chat_proto::messaging::v1::Sender;
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
