//! The backplane: what processes share beyond gRPC, namely the event bus
//! and the presence store. Both run on one Redis connection in a real
//! deployment, or in process for the embedded default; the composition root
//! builds them once and hands them to every part that needs them.

use std::time::Duration;

use crate::bus::EventBus;
use crate::config::BackplaneSettings;
use crate::presence::PresenceStore;
use crate::sessions::Revocations;

#[derive(Clone)]
pub struct Backplane {
    pub bus: EventBus,
    pub presence: PresenceStore,
    /// Sessions that ended, kept current from the bus; every token verifier
    /// of the process consults it.
    pub revocations: Revocations,
}

impl std::fmt::Debug for Backplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backplane")
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

impl Backplane {
    /// In-process bus and presence: everything in one process.
    pub fn local() -> Self {
        Self::with(EventBus::local(), PresenceStore::local())
    }

    fn with(bus: EventBus, presence: PresenceStore) -> Self {
        let revocations = Revocations::default();
        revocations.follow(&bus);
        Self {
            bus,
            presence,
            revocations,
        }
    }

    /// Redis when `REDIS_URL` is set (retrying while it is unreachable),
    /// in process otherwise.
    pub async fn connect(settings: &BackplaneSettings) -> anyhow::Result<Self> {
        let Some(url) = settings.redis_url.as_deref() else {
            return Ok(Self::local());
        };
        let client = redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid REDIS_URL: {e}"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2);
        let mut delay = Duration::from_millis(200);
        let mut attempt = 0;
        let connection = loop {
            attempt += 1;
            match client.get_connection_manager_with_config(config.clone()).await {
                Ok(c) => break c,
                Err(e) if attempt < 10 => {
                    tracing::warn!(error = %e, attempt, "Redis not reachable yet, retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => anyhow::bail!("connecting to Redis: {e}"),
            }
        };
        Ok(Self::with(
            EventBus::redis(client, connection.clone(), &settings.prefix),
            PresenceStore::redis(connection, &settings.prefix),
        ))
    }
}
