//! One process's fan-out: bus events to local sockets, in seq order,
//! exactly once.
//!
//! For each room with local sockets the gateway subscribes the room's bus
//! channel once and remembers the last seq it emitted. A message whose seq
//! jumps ahead triggers a catch-up from the messaging service first; one at
//! or below the mark is a duplicate and is dropped. After a bus reconnect,
//! and every few seconds regardless, each room is checked against the
//! database, so a lost publish is repaired without waiting for the next one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chat_platform::bus::{
    self, BusEvent, MENTIONS_CHANNEL, PRESENCE_CHANNEL, PROFILES_CHANNEL, ROOMS_CHANNEL, SharedSubscriber, room_channel,
};
use chat_platform::grpc::Channel;
use chat_platform::internal::ServiceTokens;
use chat_platform::sessions::{self, SESSIONS_CHANNEL};
use chat_proto::events::v1::SessionEvent;
use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::{ListMessagesRequest, Message, StreamEventsResponse};
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use prost::Message as _;
use serde_json::json;
use socketioxide::SocketIo;
use tokio::sync::{Mutex, broadcast};

mod changes;
mod membership;

use super::session::Session;
use super::wire;
use crate::json::{self, MessageJson, ProfileChanged, PublicUser, status_name};

/// The Socket.IO room of a chat room's local sockets.
pub fn io_room(room_id: i64) -> String {
    format!("room:{room_id}")
}

/// The Socket.IO room of one user's local sockets.
pub fn user_room(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// The Socket.IO room of a chat room's sockets still catching up: they are
/// in the room, but its live messages are held for them until their
/// history is out (see [`FeedState::held`]).
pub fn joining_room(room_id: i64) -> String {
    format!("joining:{room_id}")
}

/// What the gateway has emitted for one chat room.
#[derive(Debug, Default)]
pub struct FeedState {
    /// The highest seq emitted to the room's sockets.
    pub last_seq: i64,
    /// Sockets catching up, by join ticket, with the seq their history ends at.
    joiners: BTreeMap<u64, i64>,
    next_ticket: u64,
    /// Live messages the joiners haven't had yet, in seq order: only those
    /// after the lowest joiner's history, and none once no one is joining.
    held: Vec<Message>,
    /// The highest change_seq emitted to the room's sockets.
    pub last_change: i64,
    /// Change events emitted while sockets were joining, for them (each
    /// joiner gets all; clients skip those they have by change_seq).
    held_changes: Vec<(&'static str, serde_json::Value)>,
}

impl FeedState {
    /// A socket starts joining: its history will end at the current mark,
    /// and live messages after that are held for it. Returns its ticket.
    pub fn begin_join(&mut self) -> (u64, i64) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.joiners.insert(ticket, self.last_seq);
        (ticket, self.last_seq)
    }

    /// The socket of `ticket` is done joining (or gave up): returns the
    /// messages and change events held for it, and lets go of what no
    /// joiner needs.
    pub fn end_join(&mut self, ticket: u64) -> (Vec<Message>, Vec<(&'static str, serde_json::Value)>) {
        let Some(watermark) = self.joiners.remove(&ticket) else {
            return (Vec::new(), Vec::new());
        };
        let for_it: Vec<Message> = self.held.iter().filter(|m| m.seq > watermark).cloned().collect();
        let changes = match self.joiners.values().min() {
            Some(lowest) => {
                self.held.retain(|m| m.seq > *lowest);
                self.held_changes.clone()
            }
            None => {
                self.held.clear();
                std::mem::take(&mut self.held_changes)
            }
        };
        (for_it, changes)
    }
}

struct Feed {
    local: usize,
    state: Arc<Mutex<FeedState>>,
}

#[derive(Clone)]
pub struct Fanout {
    inner: Arc<Inner>,
}

struct Inner {
    io: SocketIo,
    shared: SharedSubscriber,
    messaging: MessagingServiceClient<Channel>,
    profiles: ProfileServiceClient<Channel>,
    tokens: ServiceTokens,
    feeds: Mutex<HashMap<i64, Feed>>,
}

/// How often every followed room is checked against the database.
const RECONCILE_EVERY: Duration = Duration::from_secs(5);

impl Fanout {
    pub async fn start(
        io: SocketIo,
        shared: SharedSubscriber,
        messaging: MessagingServiceClient<Channel>,
        profiles: ProfileServiceClient<Channel>,
        tokens: ServiceTokens,
    ) -> Self {
        let fanout = Self {
            inner: Arc::new(Inner {
                io,
                shared,
                messaging,
                profiles,
                tokens,
                feeds: Mutex::new(HashMap::new()),
            }),
        };
        let events = fanout.inner.shared.events();
        for channel in [
            PRESENCE_CHANNEL,
            ROOMS_CHANNEL,
            PROFILES_CHANNEL,
            SESSIONS_CHANNEL,
            MENTIONS_CHANNEL,
        ] {
            fanout.inner.shared.acquire(channel).await;
        }
        tokio::spawn(fanout.clone().dispatch(events));
        let this = fanout.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(RECONCILE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                this.reconcile_all().await;
            }
        });
        fanout
    }

    /// How many chat rooms this process follows.
    pub async fn rooms_followed(&self) -> usize {
        self.inner.feeds.lock().await.len()
    }

    /// Starts (or shares) the feed of `room_id` for one more local socket.
    /// The returned state's `last_seq` is the watermark below which the
    /// socket must be given history and above which the feed delivers.
    pub async fn attach(&self, room_id: i64) -> Result<Arc<Mutex<FeedState>>, wire::EventError> {
        let mut feeds = self.inner.feeds.lock().await;
        if let Some(feed) = feeds.get_mut(&room_id) {
            feed.local += 1;
            return Ok(feed.state.clone());
        }
        // Subscribe first, then read the newest seq: nothing published after
        // the read can be missed, and anything before it is history.
        self.inner.shared.acquire(&room_channel(room_id)).await;
        let state = Arc::new(Mutex::new(FeedState::default()));
        let mut baseline = state.clone().lock_owned().await;
        feeds.insert(
            room_id,
            Feed {
                local: 1,
                state: state.clone(),
            },
        );
        drop(feeds);
        match self.latest_seq(room_id).await {
            Ok((seq, change)) => {
                baseline.last_seq = seq;
                baseline.last_change = change;
                Ok(state)
            }
            Err(e) => {
                drop(baseline);
                self.detach(room_id).await;
                Err(e)
            }
        }
    }

    /// One local socket stopped following `room_id`.
    pub async fn detach(&self, room_id: i64) {
        let mut feeds = self.inner.feeds.lock().await;
        let Some(feed) = feeds.get_mut(&room_id) else {
            return;
        };
        feed.local = feed.local.saturating_sub(1);
        if feed.local == 0 {
            feeds.remove(&room_id);
            self.inner.shared.release(&room_channel(room_id)).await;
        }
    }

    /// The room's latest seq and change_seq.
    async fn latest_seq(&self, room_id: i64) -> Result<(i64, i64), wire::EventError> {
        let request = self
            .inner
            .tokens
            .request(ListMessagesRequest {
                room_id,
                page_size: 1,
                ..Default::default()
            })
            .await?;
        let page = self.inner.messaging.clone().list_messages(request).await?.into_inner();
        Ok((page.messages.last().map_or(0, |m| m.seq), page.last_change))
    }

    async fn dispatch(self, mut events: broadcast::Receiver<BusEvent>) {
        loop {
            match events.recv().await {
                Ok(BusEvent::Message { channel, payload }) if channel.as_ref() == SESSIONS_CHANNEL => {
                    if let Ok(event) = SessionEvent::decode(payload) {
                        self.end_sessions(&event);
                    }
                }
                Ok(BusEvent::Message { channel, payload }) => {
                    if let Some(event) = bus::decode(&channel, &payload) {
                        self.handle(&channel, event).await;
                    }
                }
                Ok(BusEvent::Resync) => {
                    metrics::counter!("chat_bus_resyncs_total").increment(1);
                    self.reconcile_all().await
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    metrics::counter!("chat_bus_resyncs_total").increment(1);
                    tracing::warn!(missed = n, "fan-out lagged; catching up from the database");
                    self.reconcile_all().await;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    async fn handle(&self, channel: &str, event: StreamEventsResponse) {
        let io = &self.inner.io;
        match event.event {
            Some(Event::Message(message)) if channel == room_channel(message.room_id) => self.deliver(message).await,
            Some(Event::Change(change))
                if change
                    .message
                    .as_ref()
                    .is_some_and(|m| channel == room_channel(m.room_id)) =>
            {
                self.deliver_change(change).await
            }
            Some(Event::Read(read)) if channel == room_channel(read.room_id) => self.deliver_read(&read).await,
            Some(Event::Mention(mention)) if channel == MENTIONS_CHANNEL => self.deliver_mention(&mention).await,
            Some(Event::Typing(typing)) if channel == room_channel(typing.room_id) => {
                let user = typing
                    .user
                    .as_ref()
                    .map(PublicUser::from)
                    .unwrap_or(PublicUser::bare(0));
                let except = user_room(user.id);
                let payload = json!({
                    "room_id": typing.room_id,
                    "user": user,
                    "is_typing": typing.is_typing,
                });
                let _ = io
                    .to(io_room(typing.room_id))
                    .except(except)
                    .emit("user_typing", &payload)
                    .await;
            }
            Some(Event::Presence(presence)) if channel == PRESENCE_CHANNEL => {
                let status = status_name(presence.online);
                let _ = io
                    .emit(
                        "user_status_changed",
                        &json!({"user_id": presence.user_id, "status": status}),
                    )
                    .await;
            }
            Some(Event::Room(room)) if channel == ROOMS_CHANNEL => self.room_event(&room).await,
            Some(Event::Profile(profile)) if channel == PROFILES_CHANNEL => {
                let _ = io.emit("user_updated", &ProfileChanged::from(&profile)).await;
            }
            _ => {}
        }
    }

    pub async fn feed(&self, room_id: i64) -> Option<Arc<Mutex<FeedState>>> {
        self.inner.feeds.lock().await.get(&room_id).map(|f| f.state.clone())
    }

    async fn deliver(&self, message: Message) {
        let Some(state) = self.feed(message.room_id).await else {
            return;
        };
        let mut state = state.lock().await;
        if message.seq <= state.last_seq {
            return;
        }
        tracing::debug!(
            room_id = message.room_id,
            seq = message.seq,
            mark = state.last_seq,
            "deliver"
        );
        if message.seq > state.last_seq + 1 {
            self.catch_up(message.room_id, &mut state, message.seq).await;
            if message.seq != state.last_seq + 1 {
                // Couldn't fill the gap now; the next reconcile will, in order.
                return;
            }
        }
        self.emit(&mut state, &message).await;
        state.last_seq = message.seq;
    }

    /// Emits a live message to the room's sockets, holding it for those
    /// still catching up.
    async fn emit(&self, state: &mut FeedState, message: &Message) {
        if let Some(created) = message.create_time {
            let committed = created.seconds as f64 + f64::from(created.nanos) / 1e9;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            metrics::histogram!("chat_fanout_lag_seconds").record((now - committed).max(0.0));
        }
        let to = self.inner.io.to(io_room(message.room_id));
        let to = if state.joiners.is_empty() {
            to
        } else {
            state.held.push(message.clone());
            to.except(joining_room(message.room_id))
        };
        let _ = to.emit("new_message", &MessageJson::from(message)).await;
    }

    /// Brings a feed that is behind up to `seq` from the database, emitting
    /// what it missed to the room's sockets, in order.
    pub async fn catch_up_to(&self, room_id: i64, state: &mut FeedState, seq: i64) {
        if seq > state.last_seq {
            self.catch_up(room_id, state, seq + 1).await;
        }
    }

    /// Emits every stored message after the mark and before `until` (0: no bound).
    async fn catch_up(&self, room_id: i64, state: &mut FeedState, until: i64) {
        tracing::debug!(room_id, from = state.last_seq, until, "catch-up");
        loop {
            let request = match self
                .inner
                .tokens
                .request(ListMessagesRequest {
                    room_id,
                    page_size: 100,
                    after_seq: state.last_seq,
                    before_seq: until,
                })
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(room_id, error = %e, "catch-up postponed");
                    return;
                }
            };
            let page = match self.inner.messaging.clone().list_messages(request).await {
                Ok(p) => p.into_inner(),
                Err(status) => {
                    tracing::warn!(room_id, code = ?status.code(), "catch-up postponed");
                    return;
                }
            };
            for message in &page.messages {
                if message.seq > state.last_seq {
                    self.emit(state, message).await;
                    state.last_seq = message.seq;
                }
            }
            if !page.has_more || page.messages.is_empty() {
                if page.last_change > state.last_change {
                    self.catch_up_changes(room_id, state).await;
                }
                return;
            }
        }
    }

    async fn reconcile_all(&self) {
        let rooms: Vec<(i64, Arc<Mutex<FeedState>>)> = self
            .inner
            .feeds
            .lock()
            .await
            .iter()
            .map(|(id, f)| (*id, f.state.clone()))
            .collect();
        for (room_id, state) in rooms {
            let mut state = state.lock().await;
            self.catch_up(room_id, &mut state, 0).await;
        }
    }
}
