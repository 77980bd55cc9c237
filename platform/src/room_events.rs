//! Who hears a room event: the one rule the gateways (Socket.IO) and the
//! messaging service (`StreamEvents`) both follow, so a private room's
//! news reaches its members and nobody else on either surface.

use chat_proto::events::v1::RoomEvent;
use chat_proto::events::v1::room_event::Kind;

/// Who is told of a room event.
#[derive(Debug, PartialEq, Eq)]
pub enum Audience<'a> {
    /// Every connected user: a public room was made, changed or deleted.
    Everyone,
    /// These users only: a private room or DM was made, changed or deleted.
    Users(&'a [i64]),
    /// Whoever follows the room, plus the member concerned (an added,
    /// removed or re-roled member hears of it even when not following).
    Room { and_user: Option<i64> },
}

/// Who hears `event`.
pub fn audience(event: &RoomEvent) -> Audience<'_> {
    match event.kind() {
        Kind::Created | Kind::Updated | Kind::Deleted if event.member_ids.is_empty() => Audience::Everyone,
        Kind::Created | Kind::Updated | Kind::Deleted => Audience::Users(&event.member_ids),
        Kind::MemberAdded | Kind::MemberRemoved | Kind::RoleChanged => Audience::Room {
            and_user: Some(event.user_id),
        },
        Kind::MemberJoined | Kind::MemberLeft | Kind::Unspecified => Audience::Room { and_user: None },
    }
}

/// Whether `event` ends `user_id`'s access to the room: they left or were
/// removed, or the room is gone. Their streams and sockets stop following
/// it at once.
pub fn ends_membership(event: &RoomEvent, user_id: i64) -> bool {
    match event.kind() {
        Kind::Deleted => true,
        Kind::MemberLeft | Kind::MemberRemoved => event.user_id == user_id,
        _ => false,
    }
}

/// Whether `event` ends someone's membership (the one in `user_id`), for
/// caches of who belongs where.
pub fn ends_a_membership(event: &RoomEvent) -> bool {
    matches!(event.kind(), Kind::MemberLeft | Kind::MemberRemoved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_news_goes_to_members_only() {
        let mut event = RoomEvent {
            kind: Kind::Created as i32,
            room_id: 1,
            user_id: 2,
            ..Default::default()
        };
        assert_eq!(audience(&event), Audience::Everyone);
        event.member_ids = vec![2, 3];
        assert_eq!(audience(&event), Audience::Users(&[2, 3]));
        event.kind = Kind::MemberRemoved as i32;
        assert_eq!(audience(&event), Audience::Room { and_user: Some(2) });
        assert!(ends_membership(&event, 2));
        assert!(!ends_membership(&event, 3));
    }
}
