//! `loadgen`: measures the chat suite from the outside.
//!
//! - `fanout`: N Socket.IO clients across M rooms and G gateways; a few of
//!   them send at a fixed rate; every receipt is timed against the send.
//!   Reports deliveries/s, loss, and send→receive latency p50/p99.
//! - `idle`: N idle Socket.IO connections to one gateway; reports the
//!   gateway's RSS per connection (give its pid).
//! - `persist`: SendMessage over gRPC from C concurrent callers across M
//!   rooms; reports persisted messages/s.
//!
//! Everything targets loopback addresses given on the command line, and
//! every loop is bounded by `--duration`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message as Frame;

#[derive(Parser)]
#[command(about = "Load generator for the chat suite")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Fan-out throughput and latency.
    Fanout {
        /// Gateway base URLs, comma-separated; clients are spread over them.
        #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
        gateways: Vec<String>,
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 1)]
        rooms: usize,
        /// Messages per second, in total, from the sending clients.
        #[arg(long, default_value_t = 50)]
        rate: u64,
        /// How many clients send (spread over the rooms).
        #[arg(long, default_value_t = 10)]
        senders: usize,
        /// Distinct accounts the clients sign in as.
        #[arg(long, default_value_t = 20)]
        users: usize,
        #[arg(long, default_value_t = 20)]
        duration: u64,
    },
    /// Memory per idle connection.
    Idle {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        /// The gateway's process id, to read its RSS.
        #[arg(long)]
        pid: u32,
        /// Keep the connections this many seconds, then report how many dropped.
        #[arg(long, default_value_t = 0)]
        hold: u64,
    },
    /// Persisted messages per second over gRPC.
    Persist {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        grpc: String,
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        duration: u64,
    },
}

fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}

fn run_id() -> String {
    format!("{:x}", micros_now())
}

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let response = req.send().await?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{url}: {status} {value}");
    }
    Ok(value)
}

/// Registers `n` accounts and returns their access tokens.
async fn accounts(http: &reqwest::Client, base: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let run = run_id();
    let mut tokens = Vec::new();
    for i in 0..n {
        let body = json!({"email": format!("load-{run}-{i}@example.com"), "password": "Passw0rd!", "first_name": "Load", "last_name": format!("{i}")});
        let session = post(http, &format!("{base}/auth/register"), None, body).await?;
        tokens.push(session["token"].as_str().context("token")?.to_owned());
    }
    Ok(tokens)
}

/// Creates `n` rooms owned by the first account and makes every account a member.
async fn rooms(http: &reqwest::Client, base: &str, tokens: &[String], n: usize) -> anyhow::Result<Vec<i64>> {
    let run = run_id();
    let mut ids = Vec::new();
    for r in 0..n {
        let room = post(
            http,
            &format!("{base}/chat/rooms"),
            Some(&tokens[0]),
            json!({"name": format!("load-{run}-{r}")}),
        )
        .await?;
        let id = room["id"].as_i64().context("room id")?;
        for t in &tokens[1..] {
            post(http, &format!("{base}/chat/rooms/{id}/join"), Some(t), json!({})).await?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// A bare Socket.IO client: text frames out, and a callback per frame in.
struct Socket {
    out: mpsc::UnboundedSender<String>,
}

/// Sockets whose connection ended before the run did.
static DROPPED: AtomicU64 = AtomicU64::new(0);

async fn connect(base: &str, token: &str, on_frame: impl Fn(&str) + Send + 'static) -> anyhow::Result<Socket> {
    let ws = base.replacen("http", "ws", 1);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{ws}/socket.io/?EIO=4&transport=websocket")).await?;
    socket.next().await.context("no open packet")??;
    socket
        .send(Frame::text(format!("40{}", json!({"token": token}))))
        .await?;
    loop {
        let frame = socket.next().await.context("closed during connect")??;
        let text = frame.to_text().unwrap_or_default();
        if text == "2" {
            // The first ping can beat the connect ack; unanswered, it ends
            // the connection 20 s later.
            socket.send(Frame::text("3")).await?;
            continue;
        }
        if text.starts_with("40") {
            break;
        }
        if text.starts_with("44") {
            bail!("refused: {text}");
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let (mut sink, mut stream) = socket.split();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(text) => if sink.send(Frame::text(text)).await.is_err() { break },
                    None => break,
                },
                frame = stream.next() => match frame {
                    Some(Ok(frame)) => {
                        let Ok(text) = frame.to_text() else { continue };
                        if text == "2" {
                            if sink.send(Frame::text("3")).await.is_err() { break }
                        } else {
                            on_frame(text);
                        }
                    }
                    _ => break,
                },
            }
        }
        DROPPED.fetch_add(1, Ordering::Relaxed);
    });
    Ok(Socket { out: tx })
}

impl Socket {
    fn emit(&self, event: &str, data: Value, ack: Option<u64>) {
        let id = ack.map(|a| a.to_string()).unwrap_or_default();
        let _ = self.out.send(format!("42{id}{}", json!([event, data])));
    }
}

/// The send time carried in a `new_message` frame's content (`t<micros>;`).
fn sent_at(frame: &str) -> Option<u64> {
    let start = frame.find("\"content\":\"t")? + "\"content\":\"t".len();
    let rest = &frame[start..];
    rest[..rest.find(';')?].parse().ok()
}

#[allow(clippy::too_many_arguments)]
async fn fanout(
    gateways: Vec<String>,
    clients: usize,
    room_count: usize,
    rate: u64,
    senders: usize,
    users: usize,
    duration: u64,
) -> anyhow::Result<()> {
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
    let joined = Arc::new(AtomicU64::new(0));
    let mut sockets: Vec<(Socket, i64)> = Vec::new();
    let mut per_room = vec![0u64; rooms.len()];
    let gate = Arc::new(Semaphore::new(100));
    let mut pending = Vec::new();
    for i in 0..clients {
        let gateway = gateways[i % gateways.len()].clone();
        let token = tokens[i % tokens.len()].clone();
        let room = rooms[i % rooms.len()];
        per_room[i % rooms.len()] += 1;
        let (deliveries, latencies, acked, joined, gate) = (
            deliveries.clone(),
            latencies.clone(),
            acked.clone(),
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
                } else if frame.starts_with("43") {
                    acked.fetch_add(1, Ordering::Relaxed);
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
    tokio::time::sleep(Duration::from_secs(1)).await;
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
    println!(
        "sent {sent} messages in {send_window:.1}s ({:.0}/s), acked {}",
        sent as f64 / send_window,
        acked.load(Ordering::Relaxed)
    );
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
    Ok(())
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
}

async fn idle(gateway: String, clients: usize, pid: u32, hold: u64) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let tokens = accounts(&http, &gateway, 10).await?;
    // Warm the gateway with a few connections so one-off allocations don't count.
    let mut sockets = Vec::new();
    for token in &tokens {
        sockets.push(connect(&gateway, token, |_| {}).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(pid)?;
    let gate = Arc::new(Semaphore::new(200));
    let mut pending = Vec::new();
    for i in 0..clients {
        let (gateway, token, gate) = (gateway.clone(), tokens[i % tokens.len()].clone(), gate.clone());
        pending.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            connect(&gateway, &token, |_| {}).await
        }));
    }
    for p in pending {
        sockets.push(p.await??);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_kib(pid)?;
    println!("gateway RSS: {before} KiB before, {after} KiB with {clients} more idle connections");
    println!(
        "per idle connection: {:.1} KiB",
        (after.saturating_sub(before)) as f64 / clients as f64
    );
    if hold > 0 {
        tokio::time::sleep(Duration::from_secs(hold)).await;
        println!("after {hold}s: {} connections dropped", DROPPED.load(Ordering::Relaxed));
    }
    drop(sockets);
    Ok(())
}

async fn persist(
    gateway: String,
    grpc: String,
    room_count: usize,
    concurrency: usize,
    duration: u64,
) -> anyhow::Result<()> {
    use chat_proto::messaging::v1::SendMessageRequest;
    use chat_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
    let http = reqwest::Client::new();
    let tokens = accounts(&http, &gateway, 8).await?;
    let rooms = rooms(&http, &gateway, &tokens, room_count.max(1)).await?;
    let channel = tonic::transport::Endpoint::from_shared(grpc)?.connect().await?;
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(duration);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let mut client = MessagingServiceClient::new(channel.clone());
        let token = tokens[w % tokens.len()].clone();
        let rooms = rooms.clone();
        let (done, failed) = (done.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < deadline {
                let request = SendMessageRequest {
                    room_id: rooms[(w + n) % rooms.len()],
                    content: format!("persist {w} {n}"),
                    client_msg_id: String::new(),
                };
                let request = chat_platform::token::with_bearer(tonic::Request::new(request), &token);
                match client.send_message(request).await {
                    Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
                n += 1;
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let ok = done.load(Ordering::Relaxed);
    println!(
        "persisted {ok} messages over {} rooms in {secs:.1}s: {:.0}/s ({} failed)",
        rooms.len(),
        ok as f64 / secs,
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().mode {
        Mode::Fanout {
            gateways,
            clients,
            rooms,
            rate,
            senders,
            users,
            duration,
        } => fanout(gateways, clients, rooms, rate, senders, users, duration).await,
        Mode::Idle {
            gateway,
            clients,
            pid,
            hold,
        } => idle(gateway, clients, pid, hold).await,
        Mode::Persist {
            gateway,
            grpc,
            rooms,
            concurrency,
            duration,
        } => persist(gateway, grpc, rooms, concurrency, duration).await,
    }
}
