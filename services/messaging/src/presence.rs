//! Presence, owned here: gateways report connections opening, closing and
//! staying alive; this service turns them into online/offline transitions
//! (the store decides atomically, so two replicas never both announce one),
//! persists each to the profile service and then announces it.

use std::time::Duration;

use chat_platform::ServiceError;
use chat_platform::bus::PRESENCE_CHANNEL;
use chat_platform::error::from_peer;
use chat_proto::messaging::v1::stream_events_response::Event;
use chat_proto::messaging::v1::{ConnectionRef, PresenceEvent};
use chat_proto::profile::v1::{SetStatusRequest, Status as ProfileStatus};

use crate::MessagingService;

impl MessagingService {
    /// A sweeper turns connections whose gateway stopped refreshing them into
    /// offline users.
    pub(crate) fn spawn_presence_sweeper(&self) {
        let this = self.clone();
        let period = (self.inner.presence_ttl / 4).max(Duration::from_millis(250));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match this.inner.presence.sweep().await {
                    Ok(gone) => {
                        for user_id in gone {
                            this.presence_changed(user_id, false).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "presence sweep failed"),
                }
            }
        });
    }

    /// Records (or refreshes) a connection; true when it brought the user online.
    pub(crate) async fn open_connection(&self, user_id: i64, connection_id: &str) -> Result<bool, ServiceError> {
        let came_online = self
            .inner
            .presence
            .open(user_id, connection_id, self.inner.presence_ttl)
            .await?;
        if came_online {
            self.presence_changed(user_id, true).await;
        }
        Ok(came_online)
    }

    /// Forgets a connection; true when it was the user's last.
    pub(crate) async fn close_connection(&self, user_id: i64, connection_id: &str) -> Result<bool, ServiceError> {
        let went_offline = self.inner.presence.close(user_id, connection_id).await?;
        if went_offline {
            self.presence_changed(user_id, false).await;
        }
        Ok(went_offline)
    }

    pub(crate) async fn refresh_connections(&self, connections: Vec<ConnectionRef>) -> Result<(), ServiceError> {
        for conn in connections {
            self.open_connection(conn.user_id, &conn.connection_id).await?;
        }
        Ok(())
    }

    /// Persists a presence change, then announces it, so whoever hears it
    /// and reads the profile sees the same status.
    async fn presence_changed(&self, user_id: i64, online: bool) {
        let status = if online {
            ProfileStatus::Online
        } else {
            ProfileStatus::Offline
        };
        let persisted = async {
            let request = self
                .inner
                .tokens
                .request(SetStatusRequest {
                    user_id,
                    status: status as i32,
                })
                .await?;
            self.inner
                .profiles
                .clone()
                .set_status(request)
                .await
                .map_err(from_peer)?;
            Ok::<_, ServiceError>(())
        };
        if let Err(e) = persisted.await {
            tracing::warn!(user_id, error = %e, "presence change not persisted");
        }
        self.publish(PRESENCE_CHANNEL, Event::Presence(PresenceEvent { user_id, online }))
            .await;
    }
}
