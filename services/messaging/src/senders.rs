//! A message's author as the room sees them: names and avatar from the
//! profile service, cached for five minutes and dropped as soon as a profile
//! event says they changed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chat_platform::ServiceResult;
use chat_platform::error::from_peer;
use chat_platform::grpc::Channel;
use chat_platform::internal::ServiceTokens;
use chat_proto::messaging::v1::{Message, Sender};
use chat_proto::profile::v1::BatchGetProfilesRequest;
use chat_proto::profile::v1::profile_service_client::ProfileServiceClient;
use chat_proto::timestamp_from_micros;

use crate::store::MessageRow;

const TTL: Duration = Duration::from_secs(300);

pub struct Senders {
    profiles: ProfileServiceClient<Channel>,
    tokens: ServiceTokens,
    cache: Mutex<HashMap<i64, (Sender, Instant)>>,
}

impl Senders {
    pub fn new(profiles: ProfileServiceClient<Channel>, tokens: ServiceTokens) -> Self {
        Self {
            profiles,
            tokens,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn forget(&self, user_id: i64) {
        self.cache.lock().expect("lock").remove(&user_id);
    }

    pub fn clear(&self) {
        self.cache.lock().expect("lock").clear();
    }

    /// Senders for `ids`, from the cache or the profile service.
    pub async fn get(&self, ids: &[i64]) -> ServiceResult<HashMap<i64, Sender>> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        {
            let cache = self.cache.lock().expect("lock");
            for id in ids {
                match cache.get(id) {
                    Some((s, at)) if at.elapsed() < TTL => {
                        found.insert(*id, s.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(found);
        }
        let request = self
            .tokens
            .request(BatchGetProfilesRequest {
                user_ids: missing.clone(),
            })
            .await?;
        let profiles = self
            .profiles
            .clone()
            .batch_get_profiles(request)
            .await
            .map_err(from_peer)?
            .into_inner()
            .profiles;
        let mut cache = self.cache.lock().expect("lock");
        for p in profiles {
            let sender = Sender {
                id: p.user_id,
                first_name: p.first_name,
                last_name: p.last_name,
                avatar_id: p.avatar_id,
                ..Default::default()
            };
            cache.insert(p.user_id, (sender.clone(), Instant::now()));
            found.insert(p.user_id, sender);
        }
        Ok(found)
    }

    /// One sender (a typist, say), or a bare id if the profile is unknown.
    pub async fn one(&self, user_id: i64) -> ServiceResult<Sender> {
        Ok(self.get(&[user_id]).await?.remove(&user_id).unwrap_or(Sender {
            id: user_id,
            ..Default::default()
        }))
    }

    /// Rows as messages, each with its sender.
    pub async fn messages(&self, rows: Vec<MessageRow>) -> ServiceResult<Vec<Message>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
        let senders = self.get(&ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| Message {
                id: r.id,
                room_id: r.room_id,
                seq: r.seq,
                sender: Some(senders.get(&r.user_id).cloned().unwrap_or(Sender {
                    id: r.user_id,
                    ..Default::default()
                })),
                content: r.content,
                create_time: Some(timestamp_from_micros(r.created_at)),
                client_msg_id: r.client_msg_id.unwrap_or_default(),
                edit_time: r.edited_at.map(timestamp_from_micros),
                deleted: r.deleted,
                reactions: Vec::new(),
                mentions: r.mentions,
                change_seq: r.change_seq,
            })
            .collect())
    }
}
