//! The backplane: what processes share beyond gRPC, namely the event bus
//! and the presence store. Both run on one Redis connection (one server or
//! a Redis Cluster) in a real deployment, or in process for the embedded
//! default; the composition root
//! builds them once and hands them to every part that needs them.

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

    /// Redis when `REDIS_URL` is set, a Redis Cluster when
    /// `REDIS_CLUSTER_NODES` is (retrying while unreachable, refusing TLS
    /// failures at once), in process otherwise.
    pub async fn connect(settings: &BackplaneSettings) -> anyhow::Result<Self> {
        let Some((conn, target)) = crate::redis_link::connect(settings).await? else {
            return Ok(Self::local());
        };
        Ok(Self::with(
            EventBus::redis(target, conn.clone(), &settings.prefix),
            PresenceStore::redis(conn, &settings.prefix),
        ))
    }
}
