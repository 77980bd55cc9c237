//! The `MessagingService` RPCs: authenticate, validate, then one call into
//! the module that owns the rule.

use chat_platform::bus::{MENTIONS_CHANNEL, room_channel};
use chat_platform::domain::{MessageContent, unique_ids};
use chat_platform::{ServiceError, now_micros};
use chat_proto::messaging::v1::messaging_service_server::MessagingService as MessagingRpc;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::*;
use tonic::{Request, Response, Status};

use crate::reads::Counted;
use crate::store::NewMessage;
use crate::stream::EventStream;
use crate::{Caller, MAX_CLIENT_MSG_ID, MessagingService};

#[tonic::async_trait]
impl MessagingRpc for MessagingService {
    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Result<Response<SendMessageResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let content = MessageContent::parse(&req.content)?;
        let client_msg_id = Some(req.client_msg_id.trim()).filter(|k| !k.is_empty());
        if client_msg_id.is_some_and(|k| k.len() > MAX_CLIENT_MSG_ID) {
            return Err(ServiceError::invalid("client_msg_id", "client_msg_id must be at most 100 characters").into());
        }
        self.inner.members.require(req.room_id, caller.user_id).await?;
        let mentions = self
            .inner
            .members
            .members_among(req.room_id, caller.user_id, req.mentions)
            .await?;
        let message = NewMessage {
            room_id: req.room_id,
            user_id: caller.user_id,
            content: content.into_inner(),
            client_msg_id: client_msg_id.map(str::to_owned),
            created_at: now_micros(),
            mentions,
        };
        let (row, created) = self.inner.batcher.send(message).await?;
        let message = self.inner.senders.messages(vec![row]).await?.remove(0);
        self.stop_typing(req.room_id, caller.user_id).await;
        if created {
            self.publish(&room_channel(message.room_id), Event::Message(message.clone()))
                .await;
            if !message.mentions.is_empty() {
                let mention = Mentioned {
                    user_ids: message.mentions.clone(),
                    message: Some(message.clone()),
                };
                self.publish(MENTIONS_CHANNEL, Event::Mention(mention)).await;
            }
        }
        Ok(Response::new(SendMessageResponse {
            message: Some(message),
            created,
        }))
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        chat_platform::domain::positive_id("room_id", req.room_id)?;
        if req.before_seq < 0 || req.after_seq < 0 {
            return Err(ServiceError::invalid("before_seq", "sequence numbers are positive").into());
        }
        if let Caller::User(user) = &caller {
            self.inner.members.require(req.room_id, user.user_id).await?;
        }
        let limit = chat_platform::page::page_size(req.page_size, 50, 100)?;
        let (rows, has_more) = self
            .inner
            .store
            .list(req.room_id, req.before_seq, req.after_seq, limit)
            .await?;
        let messages = self.view(rows, caller.viewer()).await?;
        let (_, last_change) = self.inner.store.marks(req.room_id).await?;
        Ok(Response::new(ListMessagesResponse {
            messages,
            has_more,
            last_change,
        }))
    }

    async fn stream_events(&self, request: Request<StreamEventsRequest>) -> Result<Response<EventStream>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let stream = self.stream(caller, req.room_ids, req.resume).await?;
        Ok(Response::new(stream))
    }

    async fn set_typing(&self, request: Request<SetTypingRequest>) -> Result<Response<SetTypingResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        self.inner.members.require(req.room_id, caller.user_id).await?;
        MessagingService::set_typing(self, req.room_id, caller.user_id, req.is_typing).await?;
        Ok(Response::new(SetTypingResponse {}))
    }

    async fn open_connection(
        &self,
        request: Request<OpenConnectionRequest>,
    ) -> Result<Response<OpenConnectionResponse>, Status> {
        self.inner.verifier.authenticate_service(&request).await?;
        let req = request.into_inner();
        if req.connection_id.is_empty() || req.user_id <= 0 {
            return Err(ServiceError::invalid("connection_id", "connection_id and user_id are required").into());
        }
        let became_online = MessagingService::open_connection(self, req.user_id, &req.connection_id).await?;
        Ok(Response::new(OpenConnectionResponse { became_online }))
    }

    async fn close_connection(
        &self,
        request: Request<CloseConnectionRequest>,
    ) -> Result<Response<CloseConnectionResponse>, Status> {
        self.inner.verifier.authenticate_service(&request).await?;
        let req = request.into_inner();
        let became_offline = MessagingService::close_connection(self, req.user_id, &req.connection_id).await?;
        Ok(Response::new(CloseConnectionResponse { became_offline }))
    }

    async fn refresh_connections(
        &self,
        request: Request<RefreshConnectionsRequest>,
    ) -> Result<Response<RefreshConnectionsResponse>, Status> {
        self.inner.verifier.authenticate_service(&request).await?;
        MessagingService::refresh_connections(self, request.into_inner().connections).await?;
        Ok(Response::new(RefreshConnectionsResponse {}))
    }

    async fn get_presence(
        &self,
        request: Request<GetPresenceRequest>,
    ) -> Result<Response<GetPresenceResponse>, Status> {
        self.caller(&request).await?;
        let ids = unique_ids(request.into_inner().user_ids, 1000, "user_ids")?;
        let online_user_ids = self.inner.presence.online(&ids).await.map_err(ServiceError::from)?;
        Ok(Response::new(GetPresenceResponse { online_user_ids }))
    }

    async fn edit_message(
        &self,
        request: Request<EditMessageRequest>,
    ) -> Result<Response<EditMessageResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let message = self.edit(&caller, req.room_id, req.message_id, &req.content).await?;
        Ok(Response::new(EditMessageResponse { message: Some(message) }))
    }

    async fn delete_message(
        &self,
        request: Request<DeleteMessageRequest>,
    ) -> Result<Response<DeleteMessageResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let message = self.delete(&caller, req.room_id, req.message_id).await?;
        Ok(Response::new(DeleteMessageResponse { message: Some(message) }))
    }

    async fn toggle_reaction(
        &self,
        request: Request<ToggleReactionRequest>,
    ) -> Result<Response<ToggleReactionResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let (message, added) =
            MessagingService::toggle_reaction(self, &caller, req.room_id, req.message_id, &req.emoji).await?;
        Ok(Response::new(ToggleReactionResponse {
            message: Some(message),
            added,
        }))
    }

    async fn mark_read(&self, request: Request<MarkReadRequest>) -> Result<Response<MarkReadResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        if req.seq < 0 {
            return Err(ServiceError::invalid("seq", "seq must not be negative").into());
        }
        self.inner.members.require(req.room_id, caller.user_id).await?;
        let store = &self.inner.store;
        let before = store.read_position(req.room_id, caller.user_id).await?;
        let position = store.mark_read(req.room_id, caller.user_id, req.seq).await?;
        if before != Some(position) {
            self.announce_read(req.room_id, caller.user_id);
        }
        let room = Counted {
            room_id: req.room_id,
            joined_at: 0,
        };
        let unread = store.unread(caller.user_id, &[room]).await?.pop();
        Ok(Response::new(MarkReadResponse { unread }))
    }

    async fn list_read_states(
        &self,
        request: Request<ListReadStatesRequest>,
    ) -> Result<Response<ListReadStatesResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let room_id = request.into_inner().room_id;
        self.inner.members.require(room_id, caller.user_id).await?;
        let states = self.inner.store.read_states(room_id).await?;
        Ok(Response::new(ListReadStatesResponse { states }))
    }

    async fn list_changes(
        &self,
        request: Request<ListChangesRequest>,
    ) -> Result<Response<ListChangesResponse>, Status> {
        let caller = self.caller(&request).await?;
        let req = request.into_inner();
        chat_platform::domain::positive_id("room_id", req.room_id)?;
        if req.after_change < 0 {
            return Err(ServiceError::invalid("after_change", "after_change must not be negative").into());
        }
        if let Caller::User(user) = &caller {
            self.inner.members.require(req.room_id, user.user_id).await?;
        }
        let limit = chat_platform::page::page_size(req.page_size, 100, 100)?;
        let (rows, has_more, last_change) = self.inner.store.changes(req.room_id, req.after_change, limit).await?;
        let messages = self.view(rows, caller.viewer()).await?;
        Ok(Response::new(ListChangesResponse {
            messages,
            has_more,
            last_change,
        }))
    }

    async fn search_messages(
        &self,
        request: Request<SearchMessagesRequest>,
    ) -> Result<Response<SearchMessagesResponse>, Status> {
        let caller = self.inner.verifier.authenticate(&request).await?;
        let req = request.into_inner();
        let (hits, next_page_token) = self.search(&caller, req).await?;
        Ok(Response::new(SearchMessagesResponse { hits, next_page_token }))
    }

    async fn get_unread_counts(
        &self,
        request: Request<GetUnreadCountsRequest>,
    ) -> Result<Response<GetUnreadCountsResponse>, Status> {
        self.inner.verifier.authenticate_service(&request).await?;
        let req = request.into_inner();
        if req.rooms.len() > 1000 {
            return Err(ServiceError::invalid("rooms", "at most 1000 rooms at once").into());
        }
        let rooms: Vec<Counted> = req
            .rooms
            .iter()
            .map(|r| Counted {
                room_id: r.room_id,
                joined_at: r.joined_at,
            })
            .collect();
        let rooms = self.inner.store.unread(req.user_id, &rooms).await?;
        Ok(Response::new(GetUnreadCountsResponse { rooms }))
    }
}
