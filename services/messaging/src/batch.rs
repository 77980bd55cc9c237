//! Group commit: concurrent sends into one room are stored together.
//!
//! Each room with sends in flight has one writer task. A send joins the
//! room's queue; the writer takes everything queued (up to [`MAX_BATCH`]),
//! stores it in one statement or transaction, and only then answers each
//! send. While a batch commits, the next one gathers, so under load one
//! commit carries many messages and at rest a send is written at once.
//! Seqs are assigned inside the commit, so they stay gap-free; a batch
//! that fails fails whole, leaving no gap either.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};

use chat_platform::error::is_unique_violation;
use chat_platform::{ServiceError, ServiceResult};
use tokio::sync::oneshot;

use crate::store::{MessageRow, MessageStore, NewMessage};

/// The most messages one commit carries.
pub const MAX_BATCH: usize = 100;

type Reply = oneshot::Sender<ServiceResult<(MessageRow, bool)>>;

struct Pending {
    message: NewMessage,
    reply: Reply,
}

pub struct Batcher {
    store: MessageStore,
    /// Rooms with a writer, and what waits for it.
    queues: Mutex<HashMap<i64, Vec<Pending>>>,
}

impl Batcher {
    pub fn new(store: MessageStore) -> Arc<Self> {
        Arc::new(Self {
            store,
            queues: Mutex::new(HashMap::new()),
        })
    }

    /// Stores `message` in `room_id`, answering after its commit: the row
    /// and `true`, or the row stored earlier under the same client_msg_id
    /// and `false`.
    pub async fn send(self: &Arc<Self>, room_id: i64, message: NewMessage) -> ServiceResult<(MessageRow, bool)> {
        let (reply, answer) = oneshot::channel();
        let start_writer = match self.queues.lock().expect("lock").entry(room_id) {
            Entry::Occupied(mut queue) => {
                queue.get_mut().push(Pending { message, reply });
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(vec![Pending { message, reply }]);
                true
            }
        };
        if start_writer {
            tokio::spawn(self.clone().write(room_id));
        }
        answer
            .await
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("message writer stopped")))?
    }

    /// The room's writer: commits batches until its queue is empty.
    async fn write(self: Arc<Self>, room_id: i64) {
        loop {
            let batch: Vec<Pending> = {
                let mut queues = self.queues.lock().expect("lock");
                let Some(queue) = queues.get_mut(&room_id) else { return };
                if queue.is_empty() {
                    queues.remove(&room_id);
                    return;
                }
                let take = queue.len().min(MAX_BATCH);
                queue.drain(..take).collect()
            };
            self.commit(room_id, batch).await;
        }
    }

    async fn commit(&self, room_id: i64, batch: Vec<Pending>) {
        let messages: Vec<NewMessage> = batch.iter().map(|p| p.message.clone()).collect();
        // Another replica may store one of the keys between our check and
        // our insert: the unique index refuses the batch whole, and the
        // second pass finds that message and stores the rest.
        let mut outcome = self.store_new(room_id, &messages).await;
        if matches!(&outcome, Err(ServiceError::Db(e)) if is_unique_violation(e)) {
            outcome = self.store_new(room_id, &messages).await;
        }
        match outcome {
            Ok(results) => {
                for (pending, result) in batch.into_iter().zip(results) {
                    let _ = pending.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, room_id, size = batch.len(), "storing a batch of messages failed");
                let failure = shareable(&e);
                for pending in batch {
                    let _ = pending.reply.send(Err(failure()));
                }
            }
        }
    }

    /// Stores the messages whose (sender, client_msg_id) is new, in order,
    /// and answers every one of them, in `messages` order.
    async fn store_new(&self, room_id: i64, messages: &[NewMessage]) -> ServiceResult<Vec<(MessageRow, bool)>> {
        let keys: Vec<(i64, &str)> = messages
            .iter()
            .filter_map(|m| Some((m.user_id, m.client_msg_id.as_deref()?)))
            .collect();
        let mut known: HashMap<(i64, String), MessageRow> = self
            .store
            .by_client_ids(room_id, &keys)
            .await?
            .into_iter()
            .map(|row| ((row.user_id, row.client_msg_id.clone().unwrap_or_default()), row))
            .collect();
        // Which messages to insert: not stored yet, and not a repeat of an
        // earlier one in this batch.
        let mut fresh = Vec::new();
        let mut first_of_key: HashMap<(i64, String), usize> = HashMap::new();
        for (i, m) in messages.iter().enumerate() {
            match &m.client_msg_id {
                Some(key) if known.contains_key(&(m.user_id, key.clone())) => {}
                Some(key) => {
                    if let Entry::Vacant(slot) = first_of_key.entry((m.user_id, key.clone())) {
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
            self.store.insert_batch(room_id, &to_insert).await?
        };
        let mut created: HashMap<usize, MessageRow> = HashMap::new();
        for (i, (id, seq)) in fresh.into_iter().zip(ids) {
            let m = &messages[i];
            let row = MessageRow {
                id,
                room_id,
                seq,
                user_id: m.user_id,
                content: m.content.clone(),
                client_msg_id: m.client_msg_id.clone(),
                created_at: m.created_at,
            };
            if let Some(key) = &m.client_msg_id {
                known.insert((m.user_id, key.clone()), row.clone());
            }
            created.insert(i, row);
        }
        Ok(messages
            .iter()
            .enumerate()
            .map(|(i, m)| match created.remove(&i) {
                Some(row) => (row, true),
                None => {
                    let key = (m.user_id, m.client_msg_id.clone().unwrap_or_default());
                    (known[&key].clone(), false)
                }
            })
            .collect())
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
