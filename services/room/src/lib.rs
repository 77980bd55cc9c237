//! The room service. Its RPCs answer UNIMPLEMENTED until their own issue lands.

use chat_proto::room::v1::room_service_server::{RoomService as RoomRpc, RoomServiceServer};

pub const SERVICE_NAME: &str = "chat.room.v1.RoomService";

#[derive(Debug, Clone, Default)]
pub struct Config {}

#[derive(Clone)]
pub struct RoomService {}

pub async fn build(_config: Config) -> anyhow::Result<RoomService> {
    Ok(RoomService {})
}

impl RoomService {
    pub fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) -> &'static str {
        routes.add_service(RoomServiceServer::new(self.clone()));
        SERVICE_NAME
    }
}

#[tonic::async_trait]
impl RoomRpc for RoomService {}
