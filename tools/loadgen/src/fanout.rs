//! `loadgen fanout`: deliveries/s, loss and send→receive latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::{Mutex, Semaphore};

use crate::setup::*;
use crate::socket::*;

/// Which gateway each client connects to.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Placement {
    /// Client i on gateway i mod G (with several rooms, a room may end up on
    /// one gateway or on a few, depending on the counts).
    Interleave,
    /// Every room's clients evenly over every gateway, as a load balancer
    /// that knows nothing of rooms would place big rooms' members.
    Spread,
}

pub struct Args {
    pub gateways: Vec<String>,
    pub clients: usize,
    pub room_count: usize,
    pub rate: u64,
    pub senders: usize,
    pub users: usize,
    pub duration: u64,
    pub placement: Placement,
    /// Seconds every client stays joined and idle before the sending starts.
    pub settle: u64,
    /// Seconds the connections stay open after the results are printed, so
    /// that whoever reads the servers' CPU can do so before they close.
    pub linger: u64,
}

pub async fn fanout(args: Args) -> anyhow::Result<()> {
    let Args {
        gateways,
        clients,
        room_count,
        rate,
        senders,
        users,
        duration,
        placement,
        settle,
        linger,
    } = args;
    let http = reqwest::Client::new();
    let base = &gateways[0];
    println!(
        "setting up {users} accounts, {room_count} rooms, {clients} clients over {} gateways",
        gateways.len()
    );
    let tokens = accounts(&http, base, users.max(1)).await?;
    let rooms = rooms(&http, base, &tokens, room_count.max(1)).await?;

    let deliveries = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let acked = Arc::new(AtomicU64::new(0));
    // Ack ids of sends the server refused (an ack with "ok": false), and
    // the first refusal's text: refused sends are not expected to arrive.
    let refused = Arc::new(std::sync::Mutex::new((Vec::<u64>::new(), None::<String>)));
    let joined = Arc::new(AtomicU64::new(0));
    let mut sockets: Vec<(Socket, i64)> = Vec::new();
    let mut per_room = vec![0u64; rooms.len()];
    let gate = Arc::new(Semaphore::new(100));
    let mut pending = Vec::new();
    for i in 0..clients {
        let slot = match placement {
            Placement::Interleave => i,
            Placement::Spread => i / rooms.len(),
        };
        let gateway = gateways[slot % gateways.len()].clone();
        let token = tokens[i % tokens.len()].clone();
        let room = rooms[i % rooms.len()];
        per_room[i % rooms.len()] += 1;
        let (deliveries, latencies, acked, refused, joined, gate) = (
            deliveries.clone(),
            latencies.clone(),
            acked.clone(),
            refused.clone(),
            joined.clone(),
            gate.clone(),
        );
        pending.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            let socket = connect(&gateway, &token, move |frame| {
                if frame.starts_with("42[\"new_message\"") {
                    deliveries.fetch_add(1, Ordering::Relaxed);
                    if let Some(t) = sent_at(frame) {
                        let latency = micros_now().saturating_sub(t).max(1);
                        if let Ok(mut h) = latencies.try_lock() {
                            let _ = h.record(latency);
                        }
                    }
                } else if frame.starts_with("431[") {
                    joined.fetch_add(1, Ordering::Relaxed);
                } else if let Some(rest) = frame.strip_prefix("43") {
                    acked.fetch_add(1, Ordering::Relaxed);
                    if frame.contains("\"ok\":false") {
                        let id = rest.split('[').next().and_then(|id| id.parse().ok()).unwrap_or(0);
                        let mut refused = refused.lock().expect("lock");
                        refused.0.push(id);
                        refused.1.get_or_insert_with(|| frame.to_owned());
                    }
                }
            })
            .await?;
            socket.emit("join_room", json!({"room_id": room}), Some(1));
            anyhow::Ok((socket, room))
        }));
    }
    for p in pending {
        sockets.push(p.await??);
    }
    let start = Instant::now();
    while joined.load(Ordering::Relaxed) < clients as u64 {
        if start.elapsed() > Duration::from_secs(120) {
            bail!("only {} of {clients} clients joined", joined.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("{clients} clients joined in {:.1}s", start.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(settle)).await;
    println!("sending for {duration}s");
    deliveries.store(0, Ordering::Relaxed);
    latencies.lock().await.reset();

    // Senders: the first `senders` clients, spread over rooms by construction.
    let senders: Vec<&(Socket, i64)> = sockets.iter().take(senders.max(1)).collect();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut tick = tokio::time::interval(interval);
    let deadline = Instant::now() + Duration::from_secs(duration);
    let mut sent = 0u64;
    let mut expected = 0u64;
    let started = Instant::now();
    while Instant::now() < deadline {
        tick.tick().await;
        let (socket, room) = senders[sent as usize % senders.len()];
        let content = format!("t{};{}", micros_now(), "x".repeat(40));
        socket.emit(
            "send_message",
            json!({"room_id": room, "content": content}),
            Some(2 + sent),
        );
        let index = rooms.iter().position(|r| r == room).unwrap_or(0);
        expected += per_room[index];
        sent += 1;
    }
    let send_window = started.elapsed().as_secs_f64();
    // Let the tail arrive: every ack, then every delivery (10 s at most).
    let tail = Instant::now();
    while tail.elapsed() < Duration::from_secs(10)
        && (acked.load(Ordering::Relaxed) < sent || deliveries.load(Ordering::Relaxed) < expected)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let received = deliveries.load(Ordering::Relaxed);
    let h = latencies.lock().await;
    let (refused_ids, first_refusal) = refused.lock().expect("lock").clone();
    for id in &refused_ids {
        // Ack id 2 + n is the n-th send, from sender n % senders.
        let (_, room) = senders[(id.saturating_sub(2) as usize) % senders.len()];
        let index = rooms.iter().position(|r| r == room).unwrap_or(0);
        expected = expected.saturating_sub(per_room[index]);
    }
    println!(
        "sent {sent} messages in {send_window:.1}s ({:.0}/s), acked {}, refused {}",
        sent as f64 / send_window,
        acked.load(Ordering::Relaxed),
        refused_ids.len()
    );
    if let Some(frame) = first_refusal {
        println!("first refusal: {}", frame.chars().take(300).collect::<String>());
    }
    println!(
        "deliveries: {received} of {expected} expected ({} lost), {:.0}/s",
        expected.saturating_sub(received),
        received as f64 / send_window
    );
    println!(
        "connections dropped during the run: {}",
        DROPPED.load(Ordering::Relaxed)
    );
    println!(
        "send→receive latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
        h.len()
    );
    drop(h);
    tokio::time::sleep(Duration::from_secs(linger)).await;
    Ok(())
}
