//! `StreamEvents`: the bus, filtered to what one caller may see, as a gRPC
//! server stream. Rooms the caller leaves or is removed from (or that are
//! deleted) stop streaming at once; private rooms' news reaches members only.
//!
//! A stream may resume rooms from a position (last seq and change_seq the
//! client holds): it subscribes first, then replays from the database what
//! came after each position (new messages in seq order, then the latest
//! state of older messages changed meanwhile), then passes live events on,
//! dropping those the replay already covered. Nothing is sent twice.

use std::collections::{HashMap, HashSet};

use chat_platform::bus::{
    self, BusEvent, MENTIONS_CHANNEL, PRESENCE_CHANNEL, PROFILES_CHANNEL, ROOMS_CHANNEL, room_channel,
};
use chat_platform::room_events::{self, Audience};
use chat_platform::sessions::{self, SESSIONS_CHANNEL};
use chat_platform::token::AuthUser;
use chat_platform::{ServiceError, ServiceResult};
use chat_proto::events::v1::SessionEvent;
use chat_proto::messaging::v1::StreamEventsResponse;
use chat_proto::messaging::v1::message_changed::Kind;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::{MessageChanged, RoomPosition};
use prost::Message as _;
use tokio::sync::broadcast;
use tokio::sync::mpsc::Sender;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::MessagingService;

pub type EventStream = std::pin::Pin<Box<dyn futures::Stream<Item = Result<StreamEventsResponse, Status>> + Send>>;

impl MessagingService {
    pub(crate) async fn stream(
        &self,
        caller: AuthUser,
        mut rooms: Vec<i64>,
        resume: Vec<RoomPosition>,
    ) -> ServiceResult<EventStream> {
        for position in &resume {
            if position.after_seq < 0 || position.after_change < 0 {
                return Err(ServiceError::invalid("resume", "positions must not be negative"));
            }
            rooms.push(position.room_id);
        }
        rooms.sort_unstable();
        rooms.dedup();
        for room in &rooms {
            self.inner.members.require(*room, caller.user_id).await?;
        }
        let mut channels: HashSet<String> = rooms.iter().map(|r| room_channel(*r)).collect();
        channels.extend(
            [
                PRESENCE_CHANNEL,
                ROOMS_CHANNEL,
                PROFILES_CHANNEL,
                SESSIONS_CHANNEL,
                MENTIONS_CHANNEL,
            ]
            .map(String::from),
        );
        // The stream lives as long as the token it was opened with.
        let expires_in = (caller.expires_at - chrono::Utc::now().timestamp()).max(0) as u64;
        let expiry = tokio::time::sleep(std::time::Duration::from_secs(expires_in));
        let mut events = self.inner.shared.events();
        for channel in &channels {
            self.inner.shared.acquire(channel).await;
        }
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let shared = self.inner.shared.clone();
        let this = self.clone();
        tokio::spawn(async move {
            tokio::pin!(expiry);
            // What the client holds, per resumed room: (seq, change_seq).
            let mut marks: HashMap<i64, (i64, i64)> = HashMap::new();
            for position in resume {
                match this.replay(&position, caller.user_id, &tx).await {
                    Ok(mark) => {
                        marks.insert(position.room_id, mark);
                    }
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        for channel in channels {
                            shared.release(&channel).await;
                        }
                        return;
                    }
                }
            }
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
                if !is_new(&decoded, &mut marks, caller.user_id) {
                    continue;
                }
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

    /// Sends what came after `position` in its room: new messages, then
    /// older messages changed meanwhile (each once, in its latest state).
    /// Returns the (seq, change_seq) the client holds afterwards.
    async fn replay(
        &self,
        position: &RoomPosition,
        viewer: i64,
        tx: &Sender<Result<StreamEventsResponse, Status>>,
    ) -> Result<(i64, i64), Status> {
        let room_id = position.room_id;
        let (mut seq, mut change) = (position.after_seq, position.after_change);
        // The change_seq each replayed message was sent with.
        let mut sent: HashMap<i64, i64> = HashMap::new();
        self.replay_messages(room_id, &mut seq, viewer, tx, &mut sent).await?;
        loop {
            let (rows, more, _) = self.inner.store.changes(room_id, change, REPLAY_PAGE).await?;
            let Some(last) = rows.last() else { break };
            change = last.change_seq;
            for message in self.view(rows, viewer).await? {
                // Sent after the messages were read: the second pass below
                // sends it, in this state or a later one.
                if message.seq > seq || sent.get(&message.id) == Some(&message.change_seq) {
                    continue;
                }
                let replayed = MessageChanged {
                    kind: Kind::Replayed as i32,
                    actor_id: 0,
                    message: Some(message),
                    ..Default::default()
                };
                if tx.send(Ok(event(Event::Change(replayed)))).await.is_err() {
                    return Err(Status::cancelled("the client went away"));
                }
            }
            if !more {
                break;
            }
        }
        // Messages sent while the changes were read, read now: their live
        // events (original text) and changes up to here are then skipped.
        self.replay_messages(room_id, &mut seq, viewer, tx, &mut sent).await?;
        Ok((seq, change))
    }

    /// Sends the room's messages after `seq`, in order, moving `seq`.
    async fn replay_messages(
        &self,
        room_id: i64,
        seq: &mut i64,
        viewer: i64,
        tx: &Sender<Result<StreamEventsResponse, Status>>,
        sent: &mut HashMap<i64, i64>,
    ) -> Result<(), Status> {
        loop {
            let (rows, more) = self.inner.store.after(room_id, *seq, REPLAY_PAGE).await?;
            let Some(last) = rows.last() else { return Ok(()) };
            *seq = last.seq;
            for message in self.view(rows, viewer).await? {
                sent.insert(message.id, message.change_seq);
                if tx.send(Ok(event(Event::Message(message)))).await.is_err() {
                    return Err(Status::cancelled("the client went away"));
                }
            }
            if !more {
                return Ok(());
            }
        }
    }
}

/// Messages read per replay step.
const REPLAY_PAGE: i64 = 100;

fn event(event: Event) -> StreamEventsResponse {
    StreamEventsResponse { event: Some(event) }
}

/// Whether a live event is news to the client: not a message or change a
/// replay already sent, and a mention only for those it names. Moves the
/// resumed room's marks forward.
fn is_new(event: &StreamEventsResponse, marks: &mut HashMap<i64, (i64, i64)>, user_id: i64) -> bool {
    match &event.event {
        Some(Event::Message(m)) => match marks.get_mut(&m.room_id) {
            Some((seq, _)) if m.seq <= *seq => false,
            Some((seq, _)) => {
                *seq = m.seq;
                true
            }
            None => true,
        },
        Some(Event::Change(c)) => {
            let Some(m) = &c.message else { return false };
            match marks.get_mut(&m.room_id) {
                Some((_, change)) if m.change_seq <= *change => false,
                Some((_, change)) => {
                    *change = m.change_seq;
                    true
                }
                None => true,
            }
        }
        Some(Event::Mention(mention)) => mention.user_ids.contains(&user_id),
        _ => true,
    }
}
