//! A small Socket.IO v4 client over WebSocket (Engine.IO 4), enough to
//! drive the gateway like a browser does, including raw, malformed frames.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as Frame;

pub struct SioClient {
    out: mpsc::UnboundedSender<String>,
    events: mpsc::UnboundedReceiver<(String, Value)>,
    acks: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>,
    next_ack: u64,
    closed: Arc<tokio::sync::Notify>,
    is_closed: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

const WAIT: Duration = Duration::from_secs(15);

impl SioClient {
    /// Connects with `auth: {token}`; `Err` carries the refusal message.
    pub async fn connect(http_base: &str, token: Option<&str>) -> Result<Self, String> {
        let auth = token.map(|t| serde_json::json!({ "token": t }));
        Self::connect_with(http_base, "", auth).await
    }

    pub async fn connect_with(http_base: &str, query: &str, auth: Option<Value>) -> Result<Self, String> {
        Self::connect_from(http_base, query, auth, None).await
    }

    /// Connects as a page of `origin` would (its `Origin` header).
    pub async fn connect_from(
        http_base: &str,
        query: &str,
        auth: Option<Value>,
        origin: Option<&str>,
    ) -> Result<Self, String> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let ws = http_base.replacen("http", "ws", 1);
        let url = format!("{ws}/socket.io/?EIO=4&transport=websocket{query}");
        let mut request = url.into_client_request().map_err(|e| e.to_string())?;
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().map_err(|_| "bad origin".to_owned())?);
        }
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| e.to_string())?;
        // Engine.IO open packet, then the Socket.IO CONNECT with auth.
        let open = socket.next().await.ok_or("closed")?.map_err(|e| e.to_string())?;
        assert!(
            open.to_text().unwrap_or_default().starts_with('0'),
            "expected an open packet"
        );
        let connect = match auth {
            Some(a) => format!("40{a}"),
            None => "40".to_owned(),
        };
        socket.send(Frame::text(connect)).await.map_err(|e| e.to_string())?;
        loop {
            let frame = tokio::time::timeout(WAIT, socket.next())
                .await
                .map_err(|_| "no answer to connect".to_owned())?
                .ok_or("closed")?
                .map_err(|e| e.to_string())?;
            let text = frame.to_text().unwrap_or_default().to_owned();
            if text == "2" {
                socket.send(Frame::text("3")).await.map_err(|e| e.to_string())?;
            } else if text.starts_with("40") {
                break;
            } else if let Some(error) = text.strip_prefix("44") {
                let value: Value = serde_json::from_str(error).unwrap_or(Value::Null);
                return Err(value["message"].as_str().unwrap_or(error).to_owned());
            }
        }

        let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
        let (events_tx, events) = mpsc::unbounded_channel();
        let acks: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>> = Arc::default();
        let closed = Arc::new(tokio::sync::Notify::new());
        let is_closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task_is_closed = is_closed.clone();
        let (mut sink, mut stream) = socket.split();
        let task_acks = acks.clone();
        let task_closed = closed.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    text = outgoing.recv() => match text {
                        Some(t) => { if sink.send(Frame::text(t)).await.is_err() { break; } }
                        None => { let _ = sink.close().await; break; }
                    },
                    frame = stream.next() => {
                        let Some(Ok(frame)) = frame else { break };
                        let Ok(text) = frame.to_text() else { continue };
                        if text == "2" {
                            if sink.send(Frame::text("3")).await.is_err() { break; }
                        } else if let Some(rest) = text.strip_prefix("42") {
                            if let Ok(Value::Array(mut args)) = serde_json::from_str::<Value>(rest) {
                                let name = args.first().and_then(Value::as_str).unwrap_or_default().to_owned();
                                let data = if args.len() > 1 { args.swap_remove(1) } else { Value::Null };
                                let _ = events_tx.send((name, data));
                            }
                        } else if let Some(rest) = text.strip_prefix("43") {
                            let split = rest.find('[').unwrap_or(rest.len());
                            let id: u64 = rest[..split].parse().unwrap_or(0);
                            let mut args: Vec<Value> = serde_json::from_str(&rest[split..]).unwrap_or_default();
                            if let Some(tx) = task_acks.lock().await.remove(&id) {
                                let _ = tx.send(if args.is_empty() { Value::Null } else { args.swap_remove(0) });
                            }
                        } else if text.starts_with("41") || text == "1" {
                            break;
                        }
                    }
                }
            }
            // Pending acks fail at once instead of timing out.
            task_acks.lock().await.clear();
            task_is_closed.store(true, std::sync::atomic::Ordering::SeqCst);
            task_closed.notify_waiters();
        });
        Ok(Self {
            out,
            events,
            acks,
            next_ack: 1,
            closed,
            is_closed,
            task,
        })
    }

    /// Sends a raw Engine.IO text frame, e.g. a malformed packet.
    pub fn send_raw(&self, text: &str) {
        let _ = self.out.send(text.to_owned());
    }

    pub fn emit(&self, event: &str, data: Value) {
        self.send_raw(&format!("42{}", serde_json::json!([event, data])));
    }

    /// Emits with an ack callback and waits for the ack.
    pub async fn emit_ack(&mut self, event: &str, data: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        let (tx, rx) = oneshot::channel();
        self.acks.lock().await.insert(id, tx);
        self.send_raw(&format!("42{id}{}", serde_json::json!([event, data])));
        tokio::time::timeout(WAIT, rx)
            .await
            .unwrap_or_else(|_| panic!("no ack for {event} within {WAIT:?}"))
            .expect("connection closed before the ack")
    }

    /// Emits with an ack callback; `None` if the connection drops first.
    pub async fn try_emit_ack(&mut self, event: &str, data: Value) -> Option<Value> {
        let id = self.next_ack;
        self.next_ack += 1;
        let (tx, rx) = oneshot::channel();
        self.acks.lock().await.insert(id, tx);
        self.send_raw(&format!("42{id}{}", serde_json::json!([event, data])));
        tokio::time::timeout(WAIT, rx).await.ok()?.ok()
    }

    /// The next event of any name.
    pub async fn recv(&mut self) -> Option<(String, Value)> {
        tokio::time::timeout(WAIT, self.events.recv()).await.ok().flatten()
    }

    /// The next event with `name`, skipping others.
    pub async fn expect(&mut self, name: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some((event, data))) if event == name => return data,
                Ok(Some(_)) => continue,
                _ => panic!("no `{name}` event within {WAIT:?}"),
            }
        }
    }

    /// The seqs of the next `n` `new_message` events; fails if another
    /// arrives within half a second after them (a duplicate).
    pub async fn message_seqs(&mut self, n: usize) -> Vec<i64> {
        let mut seqs = Vec::new();
        while seqs.len() < n {
            seqs.push(self.expect("new_message").await["seq"].as_i64().expect("a seq"));
        }
        let extra: Vec<_> = self
            .drain(Duration::from_millis(500))
            .await
            .into_iter()
            .filter(|(name, _)| name == "new_message")
            .collect();
        assert!(extra.is_empty(), "deliveries beyond the {n} expected: {extra:?}");
        seqs
    }

    /// Every event that arrives within `quiet` of the previous one.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<(String, Value)> {
        let mut got = Vec::new();
        while let Ok(Some(event)) = tokio::time::timeout(quiet, self.events.recv()).await {
            got.push(event);
        }
        got
    }

    /// Whether the connection is still up, shown by an answered ack.
    pub async fn alive(&mut self) -> bool {
        let id = self.next_ack;
        self.next_ack += 1;
        let (tx, rx) = oneshot::channel();
        self.acks.lock().await.insert(id, tx);
        self.send_raw(&format!("42{id}{}", serde_json::json!(["user_online", {}])));
        matches!(tokio::time::timeout(WAIT, rx).await, Ok(Ok(_)))
    }

    /// Whether the server closes the connection within `within`.
    pub async fn closed_within(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.closed.notified();
            if self.is_closed.load(std::sync::atomic::Ordering::SeqCst) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.is_closed.load(std::sync::atomic::Ordering::SeqCst);
            }
        }
    }

    pub async fn close(self) {
        drop(self.out);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        let _ = self.closed;
    }
}
