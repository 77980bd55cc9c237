//! The event bus's subscriber on a Redis Cluster (sharded pub/sub).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc};

use super::{BusEvent, Command, wait_taking_commands};
use crate::redis_link::RedisTarget;

/// The subscriber on a Redis Cluster: sharded subscriptions on one cluster
/// connection. The client does not move them when slots move, so after a
/// disconnection, a dropped subscription or a change in the slot map every
/// channel is subscribed again. Messages published meanwhile may be lost,
/// so each of those announces a resync.
pub(super) async fn run_cluster(
    nodes: Vec<String>,
    certs: Option<redis::TlsCertificates>,
    prefix: Arc<str>,
    mut commands: mpsc::Receiver<Command>,
    events: broadcast::Sender<BusEvent>,
) {
    let mut channels: HashSet<String> = HashSet::new();
    let (push_tx, mut pushes) = mpsc::unbounded_channel();
    let client = match RedisTarget::cluster_client(&nodes, certs.as_ref(), Some(push_tx)) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "Redis Cluster subscriber cannot be built");
            return;
        }
    };
    let mut delay = Duration::from_millis(100);
    let mut conn = loop {
        match tokio::time::timeout(Duration::from_secs(5), client.get_async_connection()).await {
            Ok(Ok(conn)) => break conn,
            failure => {
                let error = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".into(),
                };
                tracing::warn!(%error, "Redis Cluster subscriber cannot connect; retrying");
                if !wait_taking_commands(delay, &mut commands, &mut channels).await {
                    return;
                }
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    };
    // Channels whose subscription failed (their shard was unreachable):
    // retried every second until one succeeds.
    let mut pending: HashSet<String> = channels.clone();
    let mut lost = false;
    let mut retry = tokio::time::interval(Duration::from_secs(1));
    // Which node owns which slots, asked every 2 s: a failover or a
    // resharding changes it, and then every channel is subscribed again
    // (the client does not move sharded subscriptions by itself, and a
    // node that dies sends no notice).
    let mut topology_check = tokio::time::interval(Duration::from_secs(2));
    let mut topology: Option<Vec<(i64, i64, String)>> = None;
    loop {
        tokio::select! {
            _ = topology_check.tick() => {
                let Some(now) = slot_owners(&mut conn).await else { continue };
                if topology.as_ref().is_some_and(|before| *before != now) {
                    tracing::warn!("Redis Cluster slots moved; subscribing every channel again where it lives now");
                    // A fresh connection starts from the new slot map; the
                    // old one may keep routing to a dead master.
                    if let Ok(Ok(fresh)) = tokio::time::timeout(Duration::from_secs(5), client.get_async_connection()).await {
                        conn = fresh;
                    }
                    pending.extend(channels.iter().cloned());
                    let _ = events.send(BusEvent::Resync);
                }
                topology = Some(now);
            }
            command = commands.recv() => match command {
                Some(Command::Subscribe(ch, ack)) => {
                    if conn.ssubscribe(format!("{prefix}{ch}")).await.is_err() {
                        pending.insert(ch.clone());
                    }
                    channels.insert(ch);
                    let _ = ack.send(());
                }
                Some(Command::Unsubscribe(ch)) => {
                    channels.remove(&ch);
                    pending.remove(&ch);
                    let _ = conn.sunsubscribe(format!("{prefix}{ch}")).await;
                }
                None => return,
            },
            push = pushes.recv() => {
                let Some(push) = push else { return };
                match push.kind {
                    redis::PushKind::SMessage => {
                        if let [redis::Value::BulkString(name), redis::Value::BulkString(payload), ..] = push.data.as_slice() {
                            let name = String::from_utf8_lossy(name);
                            let channel: Arc<str> = name.strip_prefix(prefix.as_ref()).unwrap_or(&name).into();
                            let _ = events.send(BusEvent::Message { channel, payload: Bytes::copy_from_slice(payload) });
                        }
                    }
                    redis::PushKind::Disconnection => {
                        tracing::warn!("Redis Cluster subscriber lost a node; subscribing again where the slots now live");
                        lost = true;
                        // A failover moves a dead master's slots to its
                        // replica; the client doesn't follow the sharded
                        // subscriptions there, so every channel is
                        // subscribed again until it takes.
                        pending.extend(channels.iter().cloned());
                        let _ = events.send(BusEvent::Resync);
                    }
                    redis::PushKind::SSubscribe if lost => {
                        lost = false;
                        tracing::info!(channels = channels.len(), "Redis Cluster subscriber re-subscribed");
                        let _ = events.send(BusEvent::Resync);
                    }
                    // A node drops a shard channel's subscribers when its
                    // slot moves (a failover, a resharding): subscribe again
                    // where the slot lives now, unless we asked to leave.
                    redis::PushKind::SUnsubscribe => {
                        if let Some(redis::Value::BulkString(name)) = push.data.first() {
                            let name = String::from_utf8_lossy(name);
                            let channel = name.strip_prefix(prefix.as_ref()).unwrap_or(&name);
                            if channels.contains(channel) {
                                pending.insert(channel.to_owned());
                                let _ = events.send(BusEvent::Resync);
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ = retry.tick(), if !pending.is_empty() => {
                let attempts = pending.iter().map(|ch| {
                    let mut conn = conn.clone();
                    let name = format!("{prefix}{ch}");
                    let ch = ch.clone();
                    async move {
                        let done = tokio::time::timeout(Duration::from_secs(2), conn.ssubscribe(name)).await;
                        (ch, matches!(done, Ok(Ok(()))))
                    }
                });
                let mut recovered = false;
                for (ch, ok) in futures::future::join_all(attempts).await {
                    if ok {
                        pending.remove(&ch);
                        recovered = true;
                    }
                }
                if recovered {
                    let _ = events.send(BusEvent::Resync);
                }
            }
        }
    }
}

/// The cluster's slot ranges with the address of each one's master, in
/// order; `None` when no node answers.
async fn slot_owners(conn: &mut redis::cluster_async::ClusterConnection) -> Option<Vec<(i64, i64, String)>> {
    let answer = tokio::time::timeout(
        Duration::from_secs(1),
        redis::cmd("CLUSTER").arg("SLOTS").query_async::<redis::Value>(conn),
    )
    .await
    .ok()?
    .ok()?;
    let redis::Value::Array(ranges) = answer else {
        return None;
    };
    let mut owners = Vec::new();
    for range in ranges {
        let redis::Value::Array(fields) = range else { continue };
        let (Some(redis::Value::Int(start)), Some(redis::Value::Int(end)), Some(redis::Value::Array(master))) =
            (fields.first(), fields.get(1), fields.get(2))
        else {
            continue;
        };
        let address = master
            .iter()
            .take(2)
            .map(|v| match v {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                redis::Value::Int(n) => n.to_string(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join(":");
        owners.push((*start, *end, address));
    }
    owners.sort();
    Some(owners)
}
