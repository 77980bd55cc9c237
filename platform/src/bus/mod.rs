//! The event bus: fan-out of messages, typing, presence and room events
//! between processes.
//!
//! [`EventBus`] has two backends behind one interface: Redis pub/sub for
//! real deployments and a tokio broadcast channel for the embedded default.
//! On a Redis Cluster the pub/sub is sharded (`SPUBLISH`/`SSUBSCRIBE`): each
//! channel lives on the shard that owns its slot, so a room's traffic is
//! handled by one shard and throughput grows with shards.
//! Both are at-most-once; consumers repair gaps from the database by `seq`,
//! and a [`BusEvent::Resync`] tells them when that is needed.
//!
//! A process keeps one [`Subscriber`]: channels are added when the first
//! local listener needs them and dropped when the last one leaves, and all
//! messages arrive on one broadcast stream.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chat_proto::events::v1::{ProfileEvent, RoomEvent};
use chat_proto::messaging::v1::StreamEventsResponse;
use chat_proto::messaging::v1::stream_events_response::Event;
use futures::StreamExt;
use prost::Message as _;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::redis_link::{RedisConn, RedisTarget};

/// Channel of events for one room.
pub fn room_channel(room_id: i64) -> String {
    format!("room.{room_id}")
}

/// Channel of presence changes, for everyone.
pub const PRESENCE_CHANNEL: &str = "presence";
/// Channel of room events (lifecycle and membership), for everyone: the
/// room service publishes each `chat.events.v1.RoomEvent` here, once.
pub const ROOMS_CHANNEL: &str = "rooms";
/// Channel of profile changes (`chat.events.v1.ProfileEvent`), for everyone.
pub const PROFILES_CHANNEL: &str = "profiles";
/// Channel of mentions (messaging's `StreamEventsResponse` with a
/// `Mentioned`): every gateway tells its sockets of the users named,
/// whichever rooms those sockets follow.
pub const MENTIONS_CHANNEL: &str = "mentions";

/// Decodes a bus payload by its channel: room and profile channels carry
/// `chat.events.v1` messages, room and presence channels messaging's
/// `StreamEventsResponse`. All come back as a `StreamEventsResponse`, the
/// shape `StreamEvents` clients get. `None` for a payload that doesn't parse.
pub fn decode(channel: &str, payload: &[u8]) -> Option<StreamEventsResponse> {
    let event = match channel {
        ROOMS_CHANNEL => Event::Room(RoomEvent::decode(payload).ok()?),
        PROFILES_CHANNEL => Event::Profile(ProfileEvent::decode(payload).ok()?),
        _ => return StreamEventsResponse::decode(payload).ok(),
    };
    Some(StreamEventsResponse { event: Some(event) })
}

#[derive(Debug, Clone)]
pub enum BusEvent {
    Message {
        channel: Arc<str>,
        payload: Bytes,
    },
    /// The subscription was re-established after a loss: anything published
    /// meanwhile may be missing and should be refetched.
    Resync,
}

#[derive(Debug, thiserror::Error)]
#[error("event bus unavailable: {0}")]
pub struct BusError(String);

#[derive(Clone)]
pub enum EventBus {
    Local(broadcast::Sender<(Arc<str>, Bytes)>),
    Redis {
        target: Box<RedisTarget>,
        publisher: RedisConn,
        /// Put before every channel name, so deployments can share a Redis.
        prefix: Arc<str>,
    },
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(_) => f.write_str("EventBus::Local"),
            Self::Redis { .. } => f.write_str("EventBus::Redis"),
        }
    }
}

const LOCAL_CAPACITY: usize = 65_536;

impl EventBus {
    /// An in-process bus: every subscriber in this process sees every publish.
    pub fn local() -> Self {
        Self::Local(broadcast::channel(LOCAL_CAPACITY).0)
    }

    /// A Redis bus subscribing at `target`, publishing on `publisher`
    /// (which reconnects by itself); see [`crate::backplane::Backplane::connect`].
    pub fn redis(target: RedisTarget, publisher: RedisConn, prefix: &str) -> Self {
        Self::Redis {
            target: Box::new(target),
            publisher,
            prefix: prefix.into(),
        }
    }

    pub async fn publish(&self, channel: &str, payload: Bytes) -> Result<(), BusError> {
        match self {
            Self::Local(tx) => {
                // No subscriber is not an error: nobody is listening.
                let _ = tx.send((channel.into(), payload));
                Ok(())
            }
            Self::Redis { publisher, prefix, .. } => {
                let mut conn = publisher.clone();
                let command = if publisher.is_cluster() { "SPUBLISH" } else { "PUBLISH" };
                redis::cmd(command)
                    .arg(format!("{prefix}{channel}"))
                    .arg(payload.as_ref())
                    .query_async::<i64>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| BusError(e.to_string()))
            }
        }
    }

    /// Whether the bus answers, for health reports.
    pub async fn ping(&self) -> bool {
        match self {
            Self::Local(_) => true,
            Self::Redis { publisher, .. } => {
                let mut conn = publisher.clone();
                redis::cmd("PING").query_async::<String>(&mut conn).await.is_ok()
            }
        }
    }

    /// Starts this process's subscriber.
    pub fn subscriber(&self) -> Subscriber {
        let (events, _) = broadcast::channel(LOCAL_CAPACITY);
        let (commands, rx) = mpsc::channel(1024);
        match self {
            Self::Local(tx) => {
                tokio::spawn(run_local(tx.subscribe(), rx, events.clone()));
            }
            Self::Redis { target, prefix, .. } => match target.as_ref() {
                RedisTarget::Single(client) => {
                    tokio::spawn(run_redis(client.clone(), prefix.clone(), rx, events.clone()));
                }
                RedisTarget::Cluster { nodes, certs } => {
                    tokio::spawn(run_cluster(
                        nodes.clone(),
                        certs.clone(),
                        prefix.clone(),
                        rx,
                        events.clone(),
                    ));
                }
            },
        }
        Subscriber { commands, events }
    }
}

mod cluster;

use cluster::run_cluster;

enum Command {
    Subscribe(String, oneshot::Sender<()>),
    Unsubscribe(String),
}

/// One process's subscription: a set of channels and one event stream.
#[derive(Clone)]
pub struct Subscriber {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<BusEvent>,
}

impl Subscriber {
    /// Adds a channel. Returns once the bus has confirmed it (or, while the
    /// bus is down, once it is recorded for the next connection).
    pub async fn subscribe(&self, channel: &str) {
        let (ack, done) = oneshot::channel();
        if self
            .commands
            .send(Command::Subscribe(channel.to_owned(), ack))
            .await
            .is_ok()
        {
            let _ = tokio::time::timeout(Duration::from_secs(5), done).await;
        }
    }

    pub async fn unsubscribe(&self, channel: &str) {
        let _ = self.commands.send(Command::Unsubscribe(channel.to_owned())).await;
    }

    /// Every message on the subscribed channels, plus resync notices.
    pub fn events(&self) -> broadcast::Receiver<BusEvent> {
        self.events.subscribe()
    }
}

async fn run_local(
    mut source: broadcast::Receiver<(Arc<str>, Bytes)>,
    mut commands: mpsc::Receiver<Command>,
    events: broadcast::Sender<BusEvent>,
) {
    let mut channels: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Subscribe(ch, ack)) => {
                    channels.insert(ch);
                    let _ = ack.send(());
                }
                Some(Command::Unsubscribe(ch)) => {
                    channels.remove(&ch);
                }
                None => return,
            },
            message = source.recv() => match message {
                Ok((channel, payload)) => {
                    if channels.contains(channel.as_ref()) {
                        let _ = events.send(BusEvent::Message { channel, payload });
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "in-process bus lagged; asking for a resync");
                    let _ = events.send(BusEvent::Resync);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}

async fn run_redis(
    client: redis::Client,
    prefix: Arc<str>,
    mut commands: mpsc::Receiver<Command>,
    events: broadcast::Sender<BusEvent>,
) {
    let mut channels: HashSet<String> = HashSet::new();
    let mut delay = Duration::from_millis(100);
    let mut connected_before = false;
    loop {
        let pubsub = match tokio::time::timeout(Duration::from_secs(3), client.get_async_pubsub()).await {
            Ok(Ok(p)) => p,
            failure => {
                let error = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".into(),
                };
                tracing::warn!(%error, "Redis subscriber cannot connect; retrying");
                if !wait_taking_commands(delay, &mut commands, &mut channels).await {
                    return;
                }
                delay = (delay * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let mut ok = true;
        for ch in &channels {
            if sink.subscribe(format!("{prefix}{ch}")).await.is_err() {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        delay = Duration::from_millis(100);
        if connected_before {
            tracing::info!(channels = channels.len(), "Redis subscriber reconnected");
            let _ = events.send(BusEvent::Resync);
        }
        connected_before = true;
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Subscribe(ch, ack)) => {
                        let result = sink.subscribe(format!("{prefix}{ch}")).await;
                        channels.insert(ch);
                        let _ = ack.send(());
                        if result.is_err() { break; }
                    }
                    Some(Command::Unsubscribe(ch)) => {
                        channels.remove(&ch);
                        if sink.unsubscribe(format!("{prefix}{ch}")).await.is_err() { break; }
                    }
                    None => return,
                },
                message = stream.next() => match message {
                    Some(msg) => {
                        let name = msg.get_channel_name();
                        let channel: Arc<str> = name.strip_prefix(prefix.as_ref()).unwrap_or(name).into();
                        let payload = Bytes::copy_from_slice(msg.get_payload_bytes());
                        let _ = events.send(BusEvent::Message { channel, payload });
                    }
                    None => {
                        tracing::warn!("Redis subscriber connection lost; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}

/// Takes commands while the subscriber cannot connect, so callers never
/// block; returns false when the process is shutting the bus down.
async fn wait_taking_commands(
    delay: Duration,
    commands: &mut mpsc::Receiver<Command>,
    channels: &mut HashSet<String>,
) -> bool {
    let wait = tokio::time::sleep(delay);
    tokio::pin!(wait);
    loop {
        tokio::select! {
            _ = &mut wait => return true,
            command = commands.recv() => match command {
                Some(Command::Subscribe(ch, ack)) => { channels.insert(ch); let _ = ack.send(()); }
                Some(Command::Unsubscribe(ch)) => { channels.remove(&ch); }
                None => return false,
            },
        }
    }
}

/// A [`Subscriber`] shared by many local listeners: a channel is subscribed
/// when its first listener arrives and unsubscribed when its last one leaves.
#[derive(Clone)]
pub struct SharedSubscriber {
    subscriber: Subscriber,
    counts: Arc<tokio::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

impl SharedSubscriber {
    pub fn new(subscriber: Subscriber) -> Self {
        Self {
            subscriber,
            counts: Default::default(),
        }
    }

    /// Adds a listener to `channel`. Returns true for its first listener.
    pub async fn acquire(&self, channel: &str) -> bool {
        let mut counts = self.counts.lock().await;
        let count = counts.entry(channel.to_owned()).or_insert(0);
        *count += 1;
        if *count == 1 {
            self.subscriber.subscribe(channel).await;
            return true;
        }
        false
    }

    /// Removes a listener from `channel`. Returns true for its last listener.
    pub async fn release(&self, channel: &str) -> bool {
        let mut counts = self.counts.lock().await;
        let Some(count) = counts.get_mut(channel) else {
            return false;
        };
        *count -= 1;
        if *count == 0 {
            counts.remove(channel);
            self.subscriber.unsubscribe(channel).await;
            return true;
        }
        false
    }

    pub fn events(&self) -> broadcast::Receiver<BusEvent> {
        self.subscriber.events()
    }
}
