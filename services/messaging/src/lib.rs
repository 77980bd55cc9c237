//! The messaging service. Its RPCs answer UNIMPLEMENTED until their own issue lands.

use chat_proto::messaging::v1::messaging_service_server::{MessagingService as MessagingRpc, MessagingServiceServer};

pub const SERVICE_NAME: &str = "chat.messaging.v1.MessagingService";

#[derive(Debug, Clone, Default)]
pub struct Config {}

#[derive(Clone)]
pub struct MessagingService {}

pub async fn build(_config: Config) -> anyhow::Result<MessagingService> {
    Ok(MessagingService {})
}

impl MessagingService {
    pub fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder) -> &'static str {
        routes.add_service(MessagingServiceServer::new(self.clone()));
        SERVICE_NAME
    }
}

#[tonic::async_trait]
impl MessagingRpc for MessagingService {}
