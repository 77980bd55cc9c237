//! `loadgen persist`: persisted messages/s over gRPC.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::setup::*;

pub async fn persist(
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
                    mentions: Vec::new(),
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
