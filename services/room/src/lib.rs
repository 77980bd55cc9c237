//! The room service: chat rooms and memberships.
//!
//! - [`store`]: the `rooms` and `room_members` tables.
//!
//! Every change is published once on the event bus's `rooms` channel as a
//! `chat.events.v1.RoomEvent`, so gateways and the messaging service hear of
//! it without this service knowing about them.

pub mod store;

use chat_platform::backplane::Backplane;
use chat_platform::bus::{EventBus, ROOMS_CHANNEL};
use chat_platform::config::{ConfigError, Jwt, Shared};
use chat_platform::db::{self, DatabaseUrl, Migrations};
use chat_platform::domain::RoomName;
use chat_platform::error::from_peer;
use chat_platform::page;
use chat_platform::service::Service;
use chat_platform::token::{TokenVerifier, bearer, with_bearer};
use chat_platform::{ServiceError, ServiceResult, now_micros};
use chat_proto::events::v1::RoomEvent;
use chat_proto::events::v1::room_event::Kind;
use chat_proto::profile::v1::BatchGetProfilesRequest;
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chat_proto::room::v1::room_service_server::{RoomService as RoomRpc, RoomServiceServer};
use chat_proto::room::v1::*;
use chat_proto::timestamp_from_micros;
use prost::Message;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::store::{RoomRow, RoomStore};

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub auth_url: String,
    pub profile_url: String,
    pub jwt: Jwt,
    /// `ROOMS_PER_USER`: how many rooms one user may create.
    pub rooms_per_user: u32,
}

impl Config {
    /// Room's part of the shared settings.
    pub fn from_env(shared: &Shared) -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: DatabaseUrl::for_service(Service::Room, &shared.data_dir)?,
            auth_url: shared.peers.url(Service::Auth).to_owned(),
            profile_url: shared.peers.url(Service::Profile).to_owned(),
            jwt: shared.jwt.clone(),
            rooms_per_user: shared.limits.rooms_per_user,
        })
    }
}

pub fn migrations() -> Migrations {
    Migrations {
        postgres: sqlx::migrate!("../../migrations/room/postgres"),
        sqlite: sqlx::migrate!("../../migrations/room/sqlite"),
    }
}

#[derive(Clone)]
pub struct RoomService {
    store: RoomStore,
    verifier: TokenVerifier,
    profiles: ProfileServiceClient<Channel>,
    bus: EventBus,
    db: db::Database,
    rooms_per_user: u32,
}

pub async fn build(config: Config, backplane: &Backplane) -> anyhow::Result<RoomService> {
    let db = db::connect(&config.database_url, Service::Room, Some(&migrations())).await?;
    Ok(RoomService {
        store: RoomStore::new(db.pool.clone()),
        verifier: TokenVerifier::from_auth_service(
            &config.jwt,
            chat_platform::grpc::channel(&config.auth_url)?,
            &backplane.revocations,
        ),
        profiles: ProfileServiceClient::new(chat_platform::grpc::channel(&config.profile_url)?),
        bus: backplane.bus.clone(),
        db,
        rooms_per_user: config.rooms_per_user,
    })
}

impl chat_platform::grpc::GrpcService for RoomService {
    fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) {
        routes.add_service(RoomServiceServer::new(self.clone()));
    }

    fn database(&self) -> &db::Database {
        &self.db
    }
}

impl RoomService {
    /// Turns rows into messages, naming each creator from their profile.
    async fn rooms(&self, rows: Vec<RoomRow>, token: &str) -> ServiceResult<Vec<Room>> {
        let mut ids: Vec<i64> = rows.iter().map(|r| r.created_by).collect();
        ids.sort_unstable();
        ids.dedup();
        let names: std::collections::HashMap<i64, String> = if ids.is_empty() {
            Default::default()
        } else {
            self.profiles
                .clone()
                .batch_get_profiles(with_bearer(
                    Request::new(BatchGetProfilesRequest { user_ids: ids }),
                    token,
                ))
                .await
                .map_err(from_peer)?
                .into_inner()
                .profiles
                .into_iter()
                .map(|p| (p.user_id, format!("{} {}", p.first_name, p.last_name)))
                .collect()
        };
        Ok(rows
            .into_iter()
            .map(|r| Room {
                id: r.id,
                name: r.name,
                created_by: Some(UserRef {
                    id: r.created_by,
                    name: names.get(&r.created_by).cloned().unwrap_or_default(),
                }),
                create_time: Some(timestamp_from_micros(r.created_at)),
                member_count: r.member_count,
                is_member: r.is_member,
            })
            .collect())
    }

    async fn room(&self, id: i64, caller: i64, token: &str) -> ServiceResult<Room> {
        let row = self
            .store
            .get(id, caller)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("room {id} not found")))?;
        Ok(self.rooms(vec![row], token).await?.remove(0))
    }

    /// Publishes a room event after the change committed. A lost event is
    /// logged, never an error for the caller: the change itself is durable.
    async fn publish(&self, kind: Kind, room_id: i64, user_id: i64, room_name: String) {
        let event = RoomEvent {
            kind: kind as i32,
            room_id,
            user_id,
            room_name,
        };
        if let Err(e) = self.bus.publish(ROOMS_CHANNEL, event.encode_to_vec().into()).await {
            tracing::warn!(error = %e, room_id, "room event not published");
        }
    }
}

fn room_id(id: i64) -> Result<i64, ServiceError> {
    if id <= 0 {
        return Err(ServiceError::invalid("room_id", "room_id must be a positive integer"));
    }
    Ok(id)
}

#[tonic::async_trait]
impl RoomRpc for RoomService {
    async fn create_room(&self, request: Request<CreateRoomRequest>) -> Result<Response<CreateRoomResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let token = bearer(request.metadata())?.to_owned();
        let name = RoomName::parse(&request.get_ref().name)?;
        if self.store.created_by(caller.user_id).await? >= i64::from(self.rooms_per_user) {
            return Err(ServiceError::QuotaExceeded(format!(
                "you may create at most {} rooms; delete one first",
                self.rooms_per_user
            ))
            .into());
        }
        let id = self.store.create(&name, caller.user_id, now_micros()).await?;
        self.publish(Kind::Created, id, caller.user_id, name.into_inner()).await;
        let room = self.room(id, caller.user_id, &token).await?;
        Ok(Response::new(CreateRoomResponse { room: Some(room) }))
    }

    async fn list_rooms(&self, request: Request<ListRoomsRequest>) -> Result<Response<ListRoomsResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let token = bearer(request.metadata())?.to_owned();
        let req = request.into_inner();
        let limit = page::page_size(req.page_size, 50, 100)?;
        let after = page::decode_token(&req.page_token)?;
        let mut rows = self.store.list(caller.user_id, after, limit + 1).await?;
        let next_page_token = page::next_token(&mut rows, limit, |r| r.id);
        let rooms = self.rooms(rows, &token).await?;
        Ok(Response::new(ListRoomsResponse { rooms, next_page_token }))
    }

    async fn get_room(&self, request: Request<GetRoomRequest>) -> Result<Response<GetRoomResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let token = bearer(request.metadata())?.to_owned();
        let id = room_id(request.get_ref().room_id)?;
        let room = self.room(id, caller.user_id, &token).await?;
        Ok(Response::new(GetRoomResponse { room: Some(room) }))
    }

    async fn delete_room(&self, request: Request<DeleteRoomRequest>) -> Result<Response<DeleteRoomResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let id = room_id(request.get_ref().room_id)?;
        let row = self
            .store
            .get(id, caller.user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("room {id} not found")))?;
        if row.created_by != caller.user_id {
            return Err(ServiceError::PermissionDenied("only the room's creator may delete it".into()).into());
        }
        if self.store.delete(id).await? {
            self.publish(Kind::Deleted, id, caller.user_id, row.name).await;
        }
        Ok(Response::new(DeleteRoomResponse {}))
    }

    async fn join_room(&self, request: Request<JoinRoomRequest>) -> Result<Response<JoinRoomResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let token = bearer(request.metadata())?.to_owned();
        let id = room_id(request.get_ref().room_id)?;
        let (exists, _) = self.store.is_member(id, caller.user_id).await?;
        if !exists {
            return Err(ServiceError::NotFound(format!("room {id} not found")).into());
        }
        let joined = self.store.join(id, caller.user_id, now_micros()).await?;
        let room = self.room(id, caller.user_id, &token).await?;
        if joined {
            self.publish(Kind::MemberJoined, id, caller.user_id, room.name.clone())
                .await;
        }
        Ok(Response::new(JoinRoomResponse {
            room: Some(room),
            joined,
        }))
    }

    async fn leave_room(&self, request: Request<LeaveRoomRequest>) -> Result<Response<LeaveRoomResponse>, Status> {
        let caller = self.verifier.authenticate(&request).await?;
        let id = room_id(request.get_ref().room_id)?;
        let (exists, _) = self.store.is_member(id, caller.user_id).await?;
        if !exists {
            return Err(ServiceError::NotFound(format!("room {id} not found")).into());
        }
        let left = self.store.leave(id, caller.user_id).await?;
        if left {
            self.publish(Kind::MemberLeft, id, caller.user_id, String::new()).await;
        }
        Ok(Response::new(LeaveRoomResponse { left }))
    }

    async fn list_members(
        &self,
        request: Request<ListMembersRequest>,
    ) -> Result<Response<ListMembersResponse>, Status> {
        self.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let id = room_id(req.room_id)?;
        let limit = page::page_size(req.page_size, 50, 100)?;
        let after = page::decode_token(&req.page_token)?;
        let (exists, _) = self.store.is_member(id, 0).await?;
        if !exists {
            return Err(ServiceError::NotFound(format!("room {id} not found")).into());
        }
        let mut rows = self.store.members(id, after, limit + 1).await?;
        let next_page_token = page::next_token(&mut rows, limit, |(user, _)| *user);
        let members = rows
            .into_iter()
            .map(|(user_id, joined)| Member {
                user_id,
                join_time: Some(timestamp_from_micros(joined)),
            })
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
        // A user may ask about themself; a service about anyone.
        let asked = request.get_ref().user_id;
        match self.verifier.authenticate(&request).await {
            Ok(caller) if asked == caller.user_id => {}
            Ok(_) => {
                return Err(ServiceError::PermissionDenied("you may only check your own membership".into()).into());
            }
            Err(_) => {
                self.verifier.authenticate_service(&request).await?;
            }
        }
        let id = room_id(request.get_ref().room_id)?;
        let (room_exists, is_member) = self.store.is_member(id, asked).await?;
        Ok(Response::new(CheckMembershipResponse { room_exists, is_member }))
    }
}
