//! Who may see and change what: every rule about visibility and roles lives
//! here, and the RPCs ask these functions rather than deciding themselves.
//!
//! - A private room or DM is invisible to non-members: they get NOT_FOUND,
//!   never PERMISSION_DENIED, so its existence does not leak.
//! - Owners and admins add and remove members; an admin cannot remove the
//!   owner or another admin.
//! - Only the owner changes roles, hands the room over and deletes it.
//! - A DM has two members with the role `member`, and no owner: nobody is
//!   added to, removed from, promoted in, handed or deleted from a DM.

use chat_platform::{ServiceError, ServiceResult};
use chat_proto::room::v1 as proto;

/// Who can see a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Private,
}

/// A room or a direct message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Room,
    Dm,
}

/// A member's role, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    pub fn from_db(raw: &str) -> Self {
        if raw == "private" { Self::Private } else { Self::Public }
    }

    /// `None` for unspecified (the caller's default applies).
    pub fn from_proto(raw: i32) -> ServiceResult<Option<Self>> {
        match proto::Visibility::try_from(raw) {
            Ok(proto::Visibility::Unspecified) => Ok(None),
            Ok(proto::Visibility::Public) => Ok(Some(Self::Public)),
            Ok(proto::Visibility::Private) => Ok(Some(Self::Private)),
            Err(_) => Err(ServiceError::invalid(
                "visibility",
                "visibility must be public or private",
            )),
        }
    }

    pub fn to_proto(self) -> proto::Visibility {
        match self {
            Self::Public => proto::Visibility::Public,
            Self::Private => proto::Visibility::Private,
        }
    }
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Room => "room",
            Self::Dm => "dm",
        }
    }

    pub fn from_db(raw: &str) -> Self {
        if raw == "dm" { Self::Dm } else { Self::Room }
    }

    /// `None` for unspecified (any kind).
    pub fn from_proto(raw: i32) -> ServiceResult<Option<Self>> {
        match proto::RoomKind::try_from(raw) {
            Ok(proto::RoomKind::Unspecified) => Ok(None),
            Ok(proto::RoomKind::Room) => Ok(Some(Self::Room)),
            Ok(proto::RoomKind::Dm) => Ok(Some(Self::Dm)),
            Err(_) => Err(ServiceError::invalid("kind", "kind must be room or dm")),
        }
    }

    pub fn to_proto(self) -> proto::RoomKind {
        match self {
            Self::Room => proto::RoomKind::Room,
            Self::Dm => proto::RoomKind::Dm,
        }
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::Owner => "owner",
        }
    }

    pub fn from_db(raw: &str) -> Self {
        match raw {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            _ => Self::Member,
        }
    }

    pub fn to_proto(self) -> proto::Role {
        match self {
            Self::Member => proto::Role::Member,
            Self::Admin => proto::Role::Admin,
            Self::Owner => proto::Role::Owner,
        }
    }
}

/// A member's role, or unspecified for a non-member.
pub fn role_to_proto(role: Option<Role>) -> proto::Role {
    role.map_or(proto::Role::Unspecified, Role::to_proto)
}

/// What one user may know about one room: enough to apply every rule.
#[derive(Debug, Clone)]
pub struct Access {
    pub room_id: i64,
    pub name: String,
    pub visibility: Visibility,
    pub kind: Kind,
    /// The user's role; `None` when they are not a member.
    pub role: Option<Role>,
}

fn not_found(room_id: i64) -> ServiceError {
    ServiceError::NotFound(format!("room {room_id} not found"))
}

impl Access {
    /// Whether the user may know the room exists.
    pub fn visible(&self) -> bool {
        self.visibility == Visibility::Public || self.role.is_some()
    }

    /// The room, if the user may see it; NOT_FOUND otherwise (as for a room
    /// that doesn't exist).
    pub fn require_visible(self) -> ServiceResult<Self> {
        if self.visible() {
            Ok(self)
        } else {
            Err(not_found(self.room_id))
        }
    }

    /// May the user join by themself? Public rooms only; a member of a
    /// private room or DM "joining" again changes nothing and is allowed.
    pub fn may_join(&self) -> ServiceResult<()> {
        if self.visible() {
            Ok(())
        } else {
            Err(not_found(self.room_id))
        }
    }

    /// May the user leave? Not a DM, and not the owner (who hands the room
    /// over or deletes it instead).
    pub fn may_leave(&self) -> ServiceResult<()> {
        match (self.kind, self.role) {
            (Kind::Dm, Some(_)) => Err(ServiceError::FailedPrecondition(
                "a direct message cannot be left".into(),
            )),
            (_, Some(Role::Owner)) => Err(ServiceError::FailedPrecondition(
                "the owner cannot leave; hand the room over to another member or delete it".into(),
            )),
            _ => Ok(()),
        }
    }

    /// The user's role, for acting on the room: NOT_FOUND when they can't
    /// see it, PERMISSION_DENIED when they can but aren't a member.
    fn actor(&self) -> ServiceResult<Role> {
        match self.role {
            Some(role) => Ok(role),
            None if self.visible() => Err(ServiceError::PermissionDenied(
                "you are not a member of this room".into(),
            )),
            None => Err(not_found(self.room_id)),
        }
    }

    fn not_in_dm(&self, refusal: impl FnOnce() -> String) -> ServiceResult<()> {
        if self.kind == Kind::Dm {
            return Err(ServiceError::PermissionDenied(refusal()));
        }
        Ok(())
    }

    /// May the user add members? Owners and admins of a room.
    pub fn may_add(&self) -> ServiceResult<()> {
        let actor = self.actor()?;
        self.not_in_dm(|| "nobody can be added to a direct message".into())?;
        if actor < Role::Admin {
            return Err(ServiceError::PermissionDenied(
                "only the room's owner and admins can add members".into(),
            ));
        }
        Ok(())
    }

    /// May the user remove a member whose role is `target`? Owners remove
    /// anyone but themself; admins remove plain members.
    pub fn may_remove(&self, target: Role) -> ServiceResult<()> {
        let actor = self.actor()?;
        self.not_in_dm(|| "nobody can be removed from a direct message".into())?;
        match (actor, target) {
            (Role::Owner, Role::Owner) => Err(ServiceError::FailedPrecondition(
                "the owner cannot be removed; hand the room over first".into(),
            )),
            (Role::Owner, _) | (Role::Admin, Role::Member) => Ok(()),
            (Role::Admin, _) => Err(ServiceError::PermissionDenied(
                "an admin cannot remove the owner or another admin".into(),
            )),
            (Role::Member, _) => Err(ServiceError::PermissionDenied(
                "only the room's owner and admins can remove members".into(),
            )),
        }
    }

    /// Owner-only changes: roles, handing over, deleting, and anything else
    /// that decides who runs the room.
    pub fn may_run(&self, what: &str) -> ServiceResult<()> {
        let actor = self.actor()?;
        self.not_in_dm(|| format!("a direct message has no owner: nobody can {what}"))?;
        if actor != Role::Owner {
            return Err(ServiceError::PermissionDenied(format!(
                "only the room's owner can {what}"
            )));
        }
        Ok(())
    }

    /// May the user rename the room or change its visibility? Owners and
    /// admins of a room.
    pub fn may_update(&self) -> ServiceResult<()> {
        let actor = self.actor()?;
        self.not_in_dm(|| "a direct message cannot be renamed or changed".into())?;
        if actor < Role::Admin {
            return Err(ServiceError::PermissionDenied(
                "only the room's owner and admins can change it".into(),
            ));
        }
        Ok(())
    }

    /// May the user see who belongs? Anyone who can see the room.
    pub fn may_list_members(self) -> ServiceResult<Self> {
        self.require_visible()
    }
}

/// The role a role change may give: admin or member.
pub fn assignable(raw: i32) -> ServiceResult<Role> {
    match proto::Role::try_from(raw) {
        Ok(proto::Role::Admin) => Ok(Role::Admin),
        Ok(proto::Role::Member) => Ok(Role::Member),
        Ok(proto::Role::Owner) => Err(ServiceError::invalid(
            "role",
            "ownership moves with TransferOwnership (POST /chat/rooms/{id}/owner)",
        )),
        _ => Err(ServiceError::invalid("role", "role must be admin or member")),
    }
}

/// The two members of a DM in the order the table keeps them.
pub fn dm_pair(a: i64, b: i64) -> ServiceResult<(i64, i64)> {
    chat_platform::domain::positive_id("user_id", b)?;
    if a == b {
        return Err(ServiceError::invalid(
            "user_id",
            "a direct message needs another person",
        ));
    }
    Ok((a.min(b), a.max(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(visibility: Visibility, kind: Kind, role: Option<Role>) -> Access {
        Access {
            room_id: 7,
            name: String::new(),
            visibility,
            kind,
            role,
        }
    }

    #[test]
    fn private_rooms_are_not_found_by_outsiders() {
        let outsider = access(Visibility::Private, Kind::Room, None);
        assert!(matches!(
            outsider.clone().require_visible(),
            Err(ServiceError::NotFound(_))
        ));
        assert!(matches!(outsider.may_join(), Err(ServiceError::NotFound(_))));
        assert!(matches!(outsider.may_add(), Err(ServiceError::NotFound(_))));
        let public = access(Visibility::Public, Kind::Room, None);
        assert!(public.may_join().is_ok());
        assert!(matches!(public.may_add(), Err(ServiceError::PermissionDenied(_))));
    }

    #[test]
    fn admins_remove_members_only() {
        let admin = access(Visibility::Private, Kind::Room, Some(Role::Admin));
        assert!(admin.may_remove(Role::Member).is_ok());
        assert!(matches!(
            admin.may_remove(Role::Admin),
            Err(ServiceError::PermissionDenied(_))
        ));
        assert!(matches!(
            admin.may_remove(Role::Owner),
            Err(ServiceError::PermissionDenied(_))
        ));
        let owner = access(Visibility::Private, Kind::Room, Some(Role::Owner));
        assert!(owner.may_remove(Role::Admin).is_ok());
        assert!(owner.may_run("delete it").is_ok());
        assert!(matches!(
            admin.may_run("delete it"),
            Err(ServiceError::PermissionDenied(_))
        ));
    }

    #[test]
    fn dms_have_no_management() {
        let dm = access(Visibility::Private, Kind::Dm, Some(Role::Member));
        assert!(dm.may_add().is_err());
        assert!(dm.may_remove(Role::Member).is_err());
        assert!(dm.may_run("delete it").is_err());
        // Refusals read as sentences.
        let refusal = |r: ServiceResult<()>| match r {
            Err(ServiceError::PermissionDenied(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            refusal(dm.may_run("delete it")),
            "a direct message has no owner: nobody can delete it"
        );
        assert_eq!(refusal(dm.may_add()), "nobody can be added to a direct message");
        assert!(matches!(dm.may_leave(), Err(ServiceError::FailedPrecondition(_))));
        assert!(dm_pair(3, 3).is_err());
        assert_eq!(dm_pair(9, 2).unwrap(), (2, 9));
    }
}
