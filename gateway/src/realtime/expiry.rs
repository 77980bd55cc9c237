//! Token expiry for every socket of the process, on one timer: when a
//! socket's token expires without an `authenticate` renewing it, the socket
//! gets `error {code: "token_expired"}` and is disconnected (its client
//! reconnects with a fresh token). One task and one ordered set replace a
//! timer task per socket.

use std::collections::{BTreeSet, HashMap};

use socketioxide::SocketIo;
use socketioxide::socket::Sid;
use tokio::sync::mpsc;

use super::wire;

enum Command {
    /// The socket's token now expires at this time (seconds since the epoch).
    Set(Sid, i64),
    Forget(Sid),
}

/// Handle to the process's expiry timer. Cheap to clone.
#[derive(Clone)]
pub struct Expiry {
    commands: mpsc::UnboundedSender<Command>,
}

/// The timer itself, to run once the Socket.IO handle exists.
pub struct ExpiryTimer {
    commands: mpsc::UnboundedReceiver<Command>,
}

impl ExpiryTimer {
    pub async fn run(self, io: SocketIo) {
        run(io, self.commands).await
    }
}

impl Expiry {
    pub fn new() -> (Self, ExpiryTimer) {
        let (commands, rx) = mpsc::unbounded_channel();
        (Self { commands }, ExpiryTimer { commands: rx })
    }

    /// Watches (or re-times) a socket whose token expires at `expires_at`.
    pub fn set(&self, socket: Sid, expires_at: i64) {
        let _ = self.commands.send(Command::Set(socket, expires_at));
    }

    pub fn forget(&self, socket: Sid) {
        let _ = self.commands.send(Command::Forget(socket));
    }
}

async fn run(io: SocketIo, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut due: BTreeSet<(i64, Sid)> = BTreeSet::new();
    let mut by_socket: HashMap<Sid, i64> = HashMap::new();
    loop {
        let next = due.first().map(|(at, _)| *at);
        let sleep = async {
            match next {
                Some(at) => {
                    let wait = (at - chrono::Utc::now().timestamp()).max(0) as u64;
                    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Set(sid, at)) => {
                    if let Some(old) = by_socket.insert(sid, at) {
                        due.remove(&(old, sid));
                    }
                    due.insert((at, sid));
                }
                Some(Command::Forget(sid)) => {
                    if let Some(old) = by_socket.remove(&sid) {
                        due.remove(&(old, sid));
                    }
                }
                None => return,
            },
            _ = sleep => {
                let now = chrono::Utc::now().timestamp();
                while let Some((at, sid)) = due.first().copied() {
                    if at > now {
                        break;
                    }
                    due.remove(&(at, sid));
                    by_socket.remove(&sid);
                    if let Some(socket) = io.get_socket(sid) {
                        let _ = socket.emit("error", &wire::error(
                            "token_expired",
                            "your session expired; reconnect with a fresh token",
                        ));
                        let _ = socket.disconnect();
                    }
                }
            }
        }
    }
}
