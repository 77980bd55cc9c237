//! Who is online (owned by the messaging service, stored here beside the
//! bus because both live on the backplane): a per-user set of live connection ids, each with an
//! expiry that its gateway keeps refreshing. A user is online while the set
//! is non-empty; a dead gateway's connections lapse with their TTL.
//!
//! Only real transitions are reported: in Redis the `online` set's
//! SADD/SREM answer decides, atomically inside a Lua script, so two
//! messaging replicas never both announce the same change.
//!
//! In Redis, users are spread over [`BUCKETS`] hash tags: a user's
//! connection set and the `online` set of their bucket share the tag, so
//! each script touches one slot, as a Redis Cluster requires, and the
//! buckets spread presence over the cluster's shards.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::redis_link::RedisConn;

/// How many hash tags presence is spread over.
pub const BUCKETS: i64 = 16;

#[derive(Clone)]
pub enum PresenceStore {
    Redis { conn: RedisConn, prefix: Arc<str> },
    Local(Arc<std::sync::Mutex<HashMap<i64, HashMap<String, Instant>>>>),
}

/// Adds (or refreshes) a connection; returns 1 when the user came online.
const OPEN: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return redis.call('SADD', KEYS[2], ARGV[3])
";

/// Removes a connection (if given) and lapsed ones; returns 1 when the
/// user went offline.
const CLOSE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) == 0 then
  return redis.call('SREM', KEYS[2], ARGV[2])
end
return 0
";

#[derive(Debug, thiserror::Error)]
#[error("presence store unavailable: {0}")]
pub struct PresenceError(String);

impl From<PresenceError> for crate::ServiceError {
    fn from(e: PresenceError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<redis::RedisError> for PresenceError {
    fn from(e: redis::RedisError) -> Self {
        Self(e.to_string())
    }
}

impl PresenceStore {
    pub fn local() -> Self {
        Self::Local(Default::default())
    }

    /// Presence in Redis, under `prefix` like the bus's channels.
    pub fn redis(conn: RedisConn, prefix: &str) -> Self {
        Self::Redis {
            conn,
            prefix: prefix.into(),
        }
    }

    fn bucket(user_id: i64) -> i64 {
        user_id.rem_euclid(BUCKETS)
    }

    /// The online set of one bucket.
    fn online_key(prefix: &str, bucket: i64) -> String {
        format!("{prefix}presence:{{p{bucket}}}:online")
    }

    /// A user's connection set and their bucket's online set (one slot).
    fn keys(prefix: &str, user_id: i64) -> (String, String) {
        let bucket = Self::bucket(user_id);
        (
            format!("{prefix}presence:{{p{bucket}}}:conns:{user_id}"),
            Self::online_key(prefix, bucket),
        )
    }

    /// Records a live connection. True when the user just came online.
    pub async fn open(&self, user_id: i64, connection: &str, ttl: Duration) -> Result<bool, PresenceError> {
        match self {
            Self::Redis { conn, prefix } => {
                let (conns, online) = Self::keys(prefix, user_id);
                let changed: i64 = redis::Script::new(OPEN)
                    .key(conns)
                    .key(online)
                    .arg(connection)
                    .arg(ttl.as_millis() as u64)
                    .arg(user_id)
                    .invoke_async(&mut conn.clone())
                    .await?;
                Ok(changed == 1)
            }
            Self::Local(map) => {
                let mut map = map.lock().expect("presence lock");
                // A user is a key of the map exactly while they are online,
                // like membership of Redis's `online` set.
                let now = Instant::now();
                let came_online = !map.contains_key(&user_id);
                let conns = map.entry(user_id).or_default();
                conns.retain(|_, exp| *exp > now);
                conns.insert(connection.to_owned(), now + ttl);
                Ok(came_online)
            }
        }
    }

    /// Forgets a connection. True when it was the user's last one.
    pub async fn close(&self, user_id: i64, connection: &str) -> Result<bool, PresenceError> {
        match self {
            Self::Redis { conn, prefix } => {
                let (conns, online) = Self::keys(prefix, user_id);
                let changed: i64 = redis::Script::new(CLOSE)
                    .key(conns)
                    .key(online)
                    .arg(connection)
                    .arg(user_id)
                    .invoke_async(&mut conn.clone())
                    .await?;
                Ok(changed == 1)
            }
            Self::Local(map) => {
                let mut map = map.lock().expect("presence lock");
                let Some(conns) = map.get_mut(&user_id) else {
                    return Ok(false);
                };
                let now = Instant::now();
                conns.remove(connection);
                conns.retain(|_, exp| *exp > now);
                if conns.is_empty() {
                    map.remove(&user_id);
                    return Ok(true);
                }
                Ok(false)
            }
        }
    }

    /// Drops lapsed connections everywhere; returns the users who thereby
    /// went offline.
    pub async fn sweep(&self) -> Result<Vec<i64>, PresenceError> {
        match self {
            Self::Redis { conn, prefix } => {
                let mut gone = Vec::new();
                for bucket in 0..BUCKETS {
                    let users: Vec<i64> = redis::cmd("SMEMBERS")
                        .arg(Self::online_key(prefix, bucket))
                        .query_async(&mut conn.clone())
                        .await?;
                    for user_id in users {
                        if self.close(user_id, "").await? {
                            gone.push(user_id);
                        }
                    }
                }
                Ok(gone)
            }
            Self::Local(map) => {
                let mut map = map.lock().expect("presence lock");
                let now = Instant::now();
                let mut gone = Vec::new();
                map.retain(|user_id, conns| {
                    conns.retain(|_, exp| *exp > now);
                    if conns.is_empty() {
                        gone.push(*user_id);
                        false
                    } else {
                        true
                    }
                });
                Ok(gone)
            }
        }
    }

    /// The users among `ids` who are online.
    pub async fn online(&self, ids: &[i64]) -> Result<Vec<i64>, PresenceError> {
        match self {
            Self::Redis { conn, prefix } => {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut by_bucket: HashMap<i64, Vec<i64>> = HashMap::new();
                for id in ids {
                    by_bucket.entry(Self::bucket(*id)).or_default().push(*id);
                }
                let asks = by_bucket.into_iter().map(|(bucket, ids)| {
                    let mut conn = conn.clone();
                    let key = Self::online_key(prefix, bucket);
                    async move {
                        let flags: Vec<i64> = redis::cmd("SMISMEMBER")
                            .arg(key)
                            .arg(&ids)
                            .query_async(&mut conn)
                            .await?;
                        Ok::<_, PresenceError>(ids.into_iter().zip(flags).filter(|(_, f)| *f == 1).map(|(id, _)| id))
                    }
                });
                let online: std::collections::HashSet<i64> = futures::future::try_join_all(asks)
                    .await?
                    .into_iter()
                    .flatten()
                    .collect();
                // In the order asked.
                Ok(ids.iter().copied().filter(|id| online.contains(id)).collect())
            }
            Self::Local(map) => {
                let map = map.lock().expect("presence lock");
                Ok(ids.iter().copied().filter(|id| map.contains_key(id)).collect())
            }
        }
    }
}
