//! The `RoomService` RPCs. Each authenticates the caller, asks [`policy`]
//! whether they may, changes the store, publishes what changed, and answers.

use chat_platform::domain::{RoomName, positive_id};
use chat_platform::page;
use chat_platform::token::{AuthUser, bearer};
use chat_platform::{ServiceError, ServiceResult, now_micros};
use chat_proto::events::v1::room_event::Kind as Event;
use chat_proto::room::v1::room_service_server::RoomService as RoomRpc;
use chat_proto::room::v1::*;
use tonic::{Request, Response, Status};

use crate::RoomService;
use crate::events::Change;
use crate::policy::{self, Access, Kind, Role, Visibility};
use crate::store::ListFilter;
use crate::views;

fn room_id(id: i64) -> ServiceResult<i64> {
    positive_id("room_id", id)
}

fn not_found(room_id: i64) -> ServiceError {
    ServiceError::NotFound(format!("room {room_id} not found"))
}

/// The caller and their bearer token (rooms name people as the caller).
async fn caller<T>(service: &RoomService, request: &Request<T>) -> ServiceResult<(AuthUser, String)> {
    let user = service.verifier.authenticate(request).await?;
    let token = bearer(request.metadata())?.to_owned();
    Ok((user, token))
}

impl RoomService {
    /// What `user_id` may know about a room: NOT_FOUND when it doesn't exist.
    async fn access(&self, room_id: i64, user_id: i64) -> ServiceResult<Access> {
        self.store
            .access(room_id, user_id)
            .await?
            .ok_or_else(|| not_found(room_id))
    }

    /// Ends `user_id`'s own membership, by whichever RPC.
    async fn leave(&self, access: Access, user_id: i64) -> ServiceResult<bool> {
        let access = access.require_visible()?;
        if access.role.is_none() {
            return Ok(false);
        }
        access.may_leave()?;
        let left = self.store.remove_member(access.room_id, user_id).await?;
        if left {
            self.publish(Change::new(Event::MemberLeft, &access, user_id, user_id))
                .await;
        }
        Ok(left)
    }

    /// Everyone in a private room, for telling only them of a change.
    pub(crate) async fn audience(&self, access: &Access) -> ServiceResult<Vec<i64>> {
        match access.visibility {
            Visibility::Private => self.store.member_ids(access.room_id).await,
            Visibility::Public => Ok(Vec::new()),
        }
    }
}

#[tonic::async_trait]
impl RoomRpc for RoomService {
    async fn create_room(&self, request: Request<CreateRoomRequest>) -> Result<Response<CreateRoomResponse>, Status> {
        let (caller, token) = caller(self, &request).await?;
        let req = request.into_inner();
        let name = RoomName::parse(&req.name)?;
        let visibility = Visibility::from_proto(req.visibility)?.unwrap_or(Visibility::Public);
        if self.store.owned_by(caller.user_id).await? >= i64::from(self.rooms_per_user) {
            return Err(ServiceError::QuotaExceeded(format!(
                "you may own at most {} rooms; delete one or hand it over first",
                self.rooms_per_user
            ))
            .into());
        }
        let id = self
            .store
            .create(&name, visibility, caller.user_id, now_micros())
            .await?;
        let access = Access {
            room_id: id,
            name: name.into_inner(),
            visibility,
            kind: Kind::Room,
            role: Some(Role::Owner),
        };
        self.publish(
            Change::new(Event::Created, &access, caller.user_id, caller.user_id).audience(
                visibility,
                visibility,
                vec![caller.user_id],
            ),
        )
        .await;
        let room = self.room(id, caller.user_id, &token).await?;
        Ok(Response::new(CreateRoomResponse { room: Some(room) }))
    }

    async fn list_rooms(&self, request: Request<ListRoomsRequest>) -> Result<Response<ListRoomsResponse>, Status> {
        let (caller, token) = caller(self, &request).await?;
        let req = request.into_inner();
        let limit = page::page_size(req.page_size, 50, 100)?;
        let after = page::decode_token(&req.page_token)?;
        let joined = match MembershipFilter::try_from(req.membership) {
            Ok(MembershipFilter::Unspecified) => None,
            Ok(MembershipFilter::Joined) => Some(true),
            Ok(MembershipFilter::NotJoined) => Some(false),
            Err(_) => {
                return Err(ServiceError::invalid("membership", "membership must be joined or not_joined").into());
            }
        };
        let filter = ListFilter {
            joined,
            kind: Kind::from_proto(req.kind)?,
        };
        let mut rows = self.store.list(caller.user_id, after, limit + 1, filter).await?;
        let next_page_token = page::next_token(&mut rows, limit, |r| r.id);
        let rooms = self.rooms(rows, caller.user_id, &token).await?;
        Ok(Response::new(ListRoomsResponse { rooms, next_page_token }))
    }

    async fn get_room(&self, request: Request<GetRoomRequest>) -> Result<Response<GetRoomResponse>, Status> {
        let (caller, token) = caller(self, &request).await?;
        let id = room_id(request.get_ref().room_id)?;
        let room = self.room(id, caller.user_id, &token).await?;
        Ok(Response::new(GetRoomResponse { room: Some(room) }))
    }

    async fn update_room(&self, request: Request<UpdateRoomRequest>) -> Result<Response<UpdateRoomResponse>, Status> {
        let (caller, token) = caller(self, &request).await?;
        let req = request.into_inner();
        let id = room_id(req.room_id)?;
        let name = match req.name.as_str() {
            "" => None,
            raw => Some(RoomName::parse(raw)?),
        };
        let visibility = Visibility::from_proto(req.visibility)?;
        let before = self.access(id, caller.user_id).await?;
        before.may_update()?;
        if name.is_some() || visibility.is_some() {
            self.store.update(id, name.as_ref(), visibility).await?;
            let after = Access {
                name: name.map_or(before.name.clone(), RoomName::into_inner),
                visibility: visibility.unwrap_or(before.visibility),
                ..before.clone()
            };
            self.publish_update(&before, &after, caller.user_id).await?;
        }
        let room = self.room(id, caller.user_id, &token).await?;
        Ok(Response::new(UpdateRoomResponse { room: Some(room) }))
    }

    async fn delete_room(&self, request: Request<DeleteRoomRequest>) -> Result<Response<DeleteRoomResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let id = room_id(request.get_ref().room_id)?;
        let access = self.access(id, caller.user_id).await?;
        access.may_run("delete it")?;
        if let Some(members) = self.store.delete(id).await? {
            self.publish(
                Change::new(Event::Deleted, &access, caller.user_id, caller.user_id).audience(
                    access.visibility,
                    access.visibility,
                    members,
                ),
            )
            .await;
        }
        Ok(Response::new(DeleteRoomResponse {}))
    }

    async fn join_room(&self, request: Request<JoinRoomRequest>) -> Result<Response<JoinRoomResponse>, Status> {
        let (caller, token) = caller(self, &request).await?;
        let id = room_id(request.get_ref().room_id)?;
        let access = self.access(id, caller.user_id).await?;
        access.may_join()?;
        let joined = access.role.is_none()
            && self
                .store
                .add_member(id, caller.user_id, Role::Member, now_micros())
                .await?;
        if joined {
            self.publish(Change::new(Event::MemberJoined, &access, caller.user_id, caller.user_id).role(Role::Member))
                .await;
        }
        let room = self.room(id, caller.user_id, &token).await?;
        Ok(Response::new(JoinRoomResponse {
            room: Some(room),
            joined,
        }))
    }

    async fn leave_room(&self, request: Request<LeaveRoomRequest>) -> Result<Response<LeaveRoomResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let id = room_id(request.get_ref().room_id)?;
        let access = self.access(id, caller.user_id).await?;
        let left = self.leave(access, caller.user_id).await?;
        Ok(Response::new(LeaveRoomResponse { left }))
    }

    async fn list_members(
        &self,
        request: Request<ListMembersRequest>,
    ) -> Result<Response<ListMembersResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let id = room_id(req.room_id)?;
        let limit = page::page_size(req.page_size, 50, 100)?;
        let after = page::decode_token(&req.page_token)?;
        self.access(id, caller.user_id).await?.may_list_members()?;
        let mut rows = self.store.members(id, after, limit + 1).await?;
        let next_page_token = page::next_token(&mut rows, limit, |(user, _, _)| *user);
        let members = rows
            .into_iter()
            .map(|(user_id, joined, role)| views::member(user_id, joined, role))
            .collect();
        Ok(Response::new(ListMembersResponse {
            members,
            next_page_token,
        }))
    }

    async fn check_membership(
        &self,
        request: Request<CheckMembershipRequest>,
    ) -> Result<Response<CheckMembershipResponse>, Status> {
        let asked = request.get_ref().user_id;
        self_or_service(self, &request, asked).await?;
        let id = room_id(request.get_ref().room_id)?;
        let access = self.store.access(id, asked).await?;
        let room_exists = access.as_ref().is_some_and(Access::visible);
        let role = access.and_then(|a| a.role);
        Ok(Response::new(CheckMembershipResponse {
            room_exists,
            is_member: role.is_some(),
            role: policy::role_to_proto(role) as i32,
        }))
    }

    async fn add_member(&self, request: Request<AddMemberRequest>) -> Result<Response<AddMemberResponse>, Status> {
        let (caller, token) = caller(self, &request).await?;
        let req = request.into_inner();
        let id = room_id(req.room_id)?;
        let user_id = positive_id("user_id", req.user_id)?;
        let access = self.access(id, caller.user_id).await?;
        access.may_add()?;
        self.require_user(user_id, &token).await?;
        let added = self.store.add_member(id, user_id, Role::Member, now_micros()).await?;
        let (role, joined_at) = self
            .store
            .member(id, user_id)
            .await?
            .ok_or_else(|| ServiceError::Unavailable("the membership changed meanwhile; try again".into()))?;
        if added {
            self.publish(Change::new(Event::MemberAdded, &access, caller.user_id, user_id).role(role))
                .await;
        }
        Ok(Response::new(AddMemberResponse {
            member: Some(views::member(user_id, joined_at, role)),
            added,
        }))
    }

    async fn remove_member(
        &self,
        request: Request<RemoveMemberRequest>,
    ) -> Result<Response<RemoveMemberResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let id = room_id(req.room_id)?;
        let user_id = positive_id("user_id", req.user_id)?;
        let access = self.access(id, caller.user_id).await?;
        if user_id == caller.user_id {
            let removed = self.leave(access, user_id).await?;
            return Ok(Response::new(RemoveMemberResponse { removed }));
        }
        let target = self.store.member(id, user_id).await?;
        access.may_remove(target.map_or(Role::Member, |(role, _)| role))?;
        let removed = target.is_some() && self.store.remove_member(id, user_id).await?;
        if removed {
            self.publish(Change::new(Event::MemberRemoved, &access, caller.user_id, user_id))
                .await;
        }
        Ok(Response::new(RemoveMemberResponse { removed }))
    }

    async fn set_member_role(
        &self,
        request: Request<SetMemberRoleRequest>,
    ) -> Result<Response<SetMemberRoleResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let id = room_id(req.room_id)?;
        let user_id = positive_id("user_id", req.user_id)?;
        let role = policy::assignable(req.role)?;
        let access = self.access(id, caller.user_id).await?;
        access.may_run("change roles")?;
        let (current, joined_at) = self
            .store
            .member(id, user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {user_id} is not a member of room {id}")))?;
        if current == Role::Owner {
            return Err(ServiceError::FailedPrecondition(
                "the owner's role changes only by handing the room over".into(),
            )
            .into());
        }
        if current != role && self.store.set_role(id, user_id, role).await? {
            self.publish(Change::new(Event::RoleChanged, &access, caller.user_id, user_id).role(role))
                .await;
        }
        Ok(Response::new(SetMemberRoleResponse {
            member: Some(views::member(user_id, joined_at, role)),
        }))
    }

    async fn transfer_ownership(
        &self,
        request: Request<TransferOwnershipRequest>,
    ) -> Result<Response<TransferOwnershipResponse>, Status> {
        let (caller, token) = caller(self, &request).await?;
        let req = request.into_inner();
        let id = room_id(req.room_id)?;
        let user_id = positive_id("user_id", req.user_id)?;
        let access = self.access(id, caller.user_id).await?;
        access.may_run("hand the room over")?;
        if user_id == caller.user_id {
            return Err(ServiceError::invalid("user_id", "you already own this room").into());
        }
        if self.store.member(id, user_id).await?.is_none() {
            return Err(ServiceError::FailedPrecondition(format!(
                "user {user_id} is not a member of room {id}; add them first"
            ))
            .into());
        }
        if !self.store.transfer(id, caller.user_id, user_id).await? {
            return Err(
                ServiceError::FailedPrecondition("the room's members changed meanwhile; try again".into()).into(),
            );
        }
        for (user, role) in [(user_id, Role::Owner), (caller.user_id, Role::Admin)] {
            self.publish(Change::new(Event::RoleChanged, &access, caller.user_id, user).role(role))
                .await;
        }
        let room = self.room(id, caller.user_id, &token).await?;
        Ok(Response::new(TransferOwnershipResponse { room: Some(room) }))
    }

    async fn open_direct_message(
        &self,
        request: Request<OpenDirectMessageRequest>,
    ) -> Result<Response<OpenDirectMessageResponse>, Status> {
        let (caller, token) = caller(self, &request).await?;
        let other = request.get_ref().user_id;
        let (low, high) = policy::dm_pair(caller.user_id, other)?;
        self.require_user(other, &token).await?;
        let (id, created) = self.store.open_dm(low, high, caller.user_id, now_micros()).await?;
        if created {
            let access = Access {
                room_id: id,
                name: String::new(),
                visibility: Visibility::Private,
                kind: Kind::Dm,
                role: Some(Role::Member),
            };
            self.publish(
                Change::new(Event::Created, &access, caller.user_id, caller.user_id).audience(
                    Visibility::Private,
                    Visibility::Private,
                    vec![low, high],
                ),
            )
            .await;
        }
        let room = self.room(id, caller.user_id, &token).await?;
        Ok(Response::new(OpenDirectMessageResponse {
            room: Some(room),
            created,
        }))
    }

    async fn list_contacts(
        &self,
        request: Request<ListContactsRequest>,
    ) -> Result<Response<ListContactsResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let limit = page::page_size(request.get_ref().page_size, 200, 1000)?;
        let user_ids = self.store.contacts(caller.user_id, limit).await?;
        Ok(Response::new(ListContactsResponse { user_ids }))
    }

    async fn list_member_room_ids(
        &self,
        request: Request<ListMemberRoomIdsRequest>,
    ) -> Result<Response<ListMemberRoomIdsResponse>, Status> {
        let asked = request.get_ref().user_id;
        self_or_service(self, &request, asked).await?;
        let room_ids = self.store.member_room_ids(asked).await?;
        Ok(Response::new(ListMemberRoomIdsResponse { room_ids }))
    }
}

/// A user may ask about themself; a service about anyone.
async fn self_or_service<T>(service: &RoomService, request: &Request<T>, asked: i64) -> ServiceResult<()> {
    match service.verifier.authenticate(request).await {
        Ok(caller) if asked == caller.user_id => Ok(()),
        Ok(_) => Err(ServiceError::PermissionDenied("you may only ask about yourself".into())),
        Err(_) => service.verifier.authenticate_service(request).await.map(|_| ()),
    }
}
