//! `StreamEvents`: the bus, filtered to what one caller may see, as a gRPC
//! server stream. Rooms the caller leaves or is removed from (or that are
//! deleted) stop streaming at once; private rooms' news reaches members only.

use std::collections::HashSet;

use chat_platform::ServiceResult;
use chat_platform::bus::{self, BusEvent, PRESENCE_CHANNEL, PROFILES_CHANNEL, ROOMS_CHANNEL, room_channel};
use chat_platform::room_events::{self, Audience};
use chat_platform::sessions::{self, SESSIONS_CHANNEL};
use chat_platform::token::AuthUser;
use chat_proto::events::v1::SessionEvent;
use chat_proto::messaging::v1::StreamEventsResponse;
use chat_proto::messaging::v1::stream_events_response::Event;
use prost::Message as _;
use tokio::sync::broadcast;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::MessagingService;

pub type EventStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<StreamEventsResponse, Status>> + Send>>;

impl MessagingService {
    pub(crate) async fn stream(&self, caller: AuthUser, mut rooms: Vec<i64>) -> ServiceResult<EventStream> {
        rooms.sort_unstable();
        rooms.dedup();
        for room in &rooms {
            self.inner.members.require(*room, caller.user_id).await?;
        }
        let mut channels: HashSet<String> = rooms.iter().map(|r| room_channel(*r)).collect();
        channels.extend([PRESENCE_CHANNEL, ROOMS_CHANNEL, PROFILES_CHANNEL, SESSIONS_CHANNEL].map(String::from));
        // The stream lives as long as the token it was opened with.
        let expires_in = (caller.expires_at - chrono::Utc::now().timestamp()).max(0) as u64;
        let expiry = tokio::time::sleep(std::time::Duration::from_secs(expires_in));
        let mut events = self.inner.shared.events();
        for channel in &channels {
            self.inner.shared.acquire(channel).await;
        }
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let shared = self.inner.shared.clone();
        tokio::spawn(async move {
            tokio::pin!(expiry);
            loop {
                let event = tokio::select! {
                    event = events.recv() => event,
                    _ = tx.closed() => break,
                    _ = &mut expiry => {
                        let _ = tx.send(Err(Status::unauthenticated("token expired; open the stream again with a fresh one"))).await;
                        break;
                    }
                };
                let (channel, payload) = match event {
                    Ok(BusEvent::Message { channel, payload }) => (channel, payload),
                    Ok(BusEvent::Resync) => continue,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let _ = tx
                            .send(Err(Status::data_loss(format!(
                                "{n} events missed; resume with ListMessages"
                            ))))
                            .await;
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if !channels.contains(channel.as_ref()) {
                    continue;
                }
                if channel.as_ref() == SESSIONS_CHANNEL {
                    let ended = SessionEvent::decode(payload).is_ok_and(|e| sessions::ends(&e, &caller));
                    if ended {
                        let _ = tx
                            .send(Err(Status::unauthenticated("this session has ended; sign in again")))
                            .await;
                        break;
                    }
                    continue;
                }
                let Some(decoded) = bus::decode(&channel, &payload) else {
                    continue;
                };
                if let Some(Event::Room(room)) = &decoded.event {
                    let concerns_caller = match room_events::audience(room) {
                        Audience::Everyone => true,
                        Audience::Users(users) => users.contains(&caller.user_id),
                        Audience::Room { and_user } => {
                            rooms.contains(&room.room_id) || and_user == Some(caller.user_id)
                        }
                    };
                    // Stop following a room the caller left, was removed
                    // from, or that was deleted.
                    let name = room_channel(room.room_id);
                    if room_events::ends_membership(room, caller.user_id) && channels.remove(&name) {
                        shared.release(&name).await;
                        rooms.retain(|r| *r != room.room_id);
                    }
                    if !concerns_caller {
                        continue;
                    }
                }
                if tx.send(Ok(decoded)).await.is_err() {
                    break;
                }
            }
            for channel in channels {
                shared.release(&channel).await;
            }
        });
        Ok(Box::pin(ReceiverStream::new(rx)))
    }
}
