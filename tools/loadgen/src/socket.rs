//! A minimal Socket.IO v4 client over WebSocket, enough to join and count.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;

/// A bare Socket.IO client: text frames out, and a callback per frame in.
pub struct Socket {
    pub out: mpsc::UnboundedSender<String>,
}

/// Sockets whose connection ended before the run did.
pub static DROPPED: AtomicU64 = AtomicU64::new(0);

pub async fn connect(base: &str, token: &str, on_frame: impl Fn(&str) + Send + 'static) -> anyhow::Result<Socket> {
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
    pub fn emit(&self, event: &str, data: Value, ack: Option<u64>) {
        let id = ack.map(|a| a.to_string()).unwrap_or_default();
        let _ = self.out.send(format!("42{id}{}", json!([event, data])));
    }
}

/// The send time carried in a `new_message` frame's content (`t<micros>;`).
pub fn sent_at(frame: &str) -> Option<u64> {
    let start = frame.find("\"content\":\"t")? + "\"content\":\"t".len();
    let rest = &frame[start..];
    rest[..rest.find(';')?].parse().ok()
}
