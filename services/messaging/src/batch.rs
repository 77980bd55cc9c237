//! Group commit: concurrent sends are stored together, across rooms.
//!
//! Sends queue in one of a few lanes (by room, so one room is always in the
//! same lane and keeps its order). Each lane with sends waiting has one
//! writer task: it takes everything queued (up to [`MAX_BATCH`]), stores it
//! in one statement or transaction (one commit for every room in it), and
//! only then answers each send. While a batch commits, the next gathers, so
//! under load one commit carries many messages and at rest a send is written
//! at once. Seqs are assigned inside the commit, so they stay gap-free; a
//! batch that fails fails whole, leaving no gap either. Lanes commit side by
//! side, on different rooms, so their row locks never cross.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};

use chat_platform::error::is_unique_violation;
use chat_platform::{ServiceError, ServiceResult};
use tokio::sync::oneshot;

use crate::store::{MessageRow, MessageStore, NewMessage};

/// The most messages one commit carries.
pub const MAX_BATCH: usize = 500;
/// Writers that may commit at once (each on its own rooms).
pub const LANES: usize = 2;

type Reply = oneshot::Sender<ServiceResult<(MessageRow, bool)>>;

struct Pending {
    message: NewMessage,
    reply: Reply,
}

#[derive(Default)]
struct Lane {
    queued: Vec<Pending>,
    /// Whether a writer task is running for this lane.
    writing: bool,
}

pub struct Batcher {
    store: MessageStore,
    lanes: [Mutex<Lane>; LANES],
}

impl Batcher {
    pub fn new(store: MessageStore) -> Arc<Self> {
        Arc::new(Self {
            store,
            lanes: Default::default(),
        })
    }

    /// Stores `message`, answering after its commit: the row and `true`, or
    /// the row stored earlier under the same (room, sender, client_msg_id)
    /// and `false`.
    pub async fn send(self: &Arc<Self>, message: NewMessage) -> ServiceResult<(MessageRow, bool)> {
        let (reply, answer) = oneshot::channel();
        let lane = message.room_id.rem_euclid(LANES as i64) as usize;
        let start_writer = {
            let mut queue = self.lanes[lane].lock().expect("lock");
            queue.queued.push(Pending { message, reply });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            tokio::spawn(self.clone().write(lane));
        }
        answer
            .await
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("message writer stopped")))?
    }

    /// A lane's writer: commits batches until its queue is empty.
    async fn write(self: Arc<Self>, lane: usize) {
        loop {
            let batch: Vec<Pending> = {
                let mut queue = self.lanes[lane].lock().expect("lock");
                if queue.queued.is_empty() {
                    queue.writing = false;
                    return;
                }
                let take = queue.queued.len().min(MAX_BATCH);
                queue.queued.drain(..take).collect()
            };
            self.commit(batch).await;
        }
    }

    async fn commit(&self, batch: Vec<Pending>) {
        let messages: Vec<NewMessage> = batch.iter().map(|p| p.message.clone()).collect();
        // Another replica may store one of the keys between our check and
        // our insert: the unique index refuses the batch whole, and the
        // second pass finds that message and stores the rest.
        let mut outcome = self.store_new(&messages).await;
        if matches!(&outcome, Err(ServiceError::Db(e)) if is_unique_violation(e)) {
            outcome = self.store_new(&messages).await;
        }
        match outcome {
            Ok(results) => {
                for (pending, result) in batch.into_iter().zip(results) {
                    let _ = pending.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, size = batch.len(), "storing a batch of messages failed");
                let failure = shareable(&e);
                for pending in batch {
                    let _ = pending.reply.send(Err(failure()));
                }
            }
        }
    }

    /// Stores the messages whose (room, sender, client_msg_id) is new, in
    /// order, and answers every one of them, in `messages` order.
    async fn store_new(&self, messages: &[NewMessage]) -> ServiceResult<Vec<(MessageRow, bool)>> {
        type Key = (i64, i64, String);
        let key_of = |m: &NewMessage| m.client_msg_id.clone().map(|k| (m.room_id, m.user_id, k));
        let keys: Vec<(i64, i64, &str)> = messages
            .iter()
            .filter_map(|m| Some((m.room_id, m.user_id, m.client_msg_id.as_deref()?)))
            .collect();
        let mut known: HashMap<Key, MessageRow> = self
            .store
            .by_client_ids(&keys)
            .await?
            .into_iter()
            .map(|row| {
                (
                    (row.room_id, row.user_id, row.client_msg_id.clone().unwrap_or_default()),
                    row,
                )
            })
            .collect();
        // What to insert: not stored yet, and not a repeat of an earlier
        // message of this batch.
        let mut fresh = Vec::new();
        let mut first_of_key: HashMap<Key, usize> = HashMap::new();
        for (i, m) in messages.iter().enumerate() {
            match key_of(m) {
                Some(key) if known.contains_key(&key) => {}
                Some(key) => {
                    if let Entry::Vacant(slot) = first_of_key.entry(key) {
                        slot.insert(i);
                        fresh.push(i);
                    }
                }
                None => fresh.push(i),
            }
        }
        let to_insert: Vec<NewMessage> = fresh.iter().map(|i| messages[*i].clone()).collect();
        let ids = if to_insert.is_empty() {
            Vec::new()
        } else {
            self.store.insert_batch(&to_insert).await?
        };
        let mut created: HashMap<usize, MessageRow> = HashMap::new();
        for (i, (id, seq)) in fresh.into_iter().zip(ids) {
            let m = &messages[i];
            let row = MessageRow {
                id,
                room_id: m.room_id,
                seq,
                user_id: m.user_id,
                content: m.content.clone(),
                client_msg_id: m.client_msg_id.clone(),
                created_at: m.created_at,
                edited_at: None,
                deleted: false,
                change_seq: 0,
                mentions: m.mentions.clone(),
            };
            if let Some(key) = key_of(m) {
                known.insert(key, row.clone());
            }
            created.insert(i, row);
        }
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| match created.remove(&i) {
                Some(row) => Ok((row, true)),
                // Not inserted: stored before under its key.
                None => key_of(m)
                    .and_then(|k| known.get(&k).cloned())
                    .map(|row| (row, false))
                    .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("a send was neither stored nor found"))),
            })
            .collect()
    }
}

/// A failure every send of a batch can be told: retryable when the
/// database was unreachable, opaque otherwise (the cause is logged once).
fn shareable(e: &ServiceError) -> impl Fn() -> ServiceError + use<> {
    let unavailable = matches!(
        e,
        ServiceError::Db(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
            | ServiceError::Unavailable(_)
    );
    move || {
        if unavailable {
            ServiceError::Unavailable("database unavailable, try again".into())
        } else {
            ServiceError::Internal(anyhow::anyhow!("storing the message failed"))
        }
    }
}
