//! The suite on both backends with two gateways where the bus allows: on
//! PostgreSQL + Redis a second gateway shares the first one's Redis, so
//! tests see what crosses processes; on the embedded default both "gateways"
//! are the one process.

use super::redis_cluster::RedisCluster;
use super::{Backend, ExtraGateway, TestApp, spawn_app};

pub struct Cluster {
    pub app: TestApp,
    pub gateways: [String; 2],
    second: Option<ExtraGateway>,
    /// The Redis Cluster under the bus, when the test made one.
    pub redis: Option<RedisCluster>,
}

/// Two gateways on PostgreSQL whose bus and presence live in a fresh
/// Redis Cluster (sharded pub/sub); `None` when the machine can't make one.
pub async fn on_redis_cluster() -> Option<Cluster> {
    let redis = RedisCluster::start().await?;
    let backplane = chat_platform::config::BackplaneSettings {
        cluster_nodes: redis.seeds(),
        prefix: format!("rc{}:", std::process::id()),
        ..chat_platform::config::BackplaneSettings::local()
    };
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_path_buf();
    let app = super::spawn_app_on_backplane(temp, dir, backplane).await;
    let second = ExtraGateway::start(app.settings.clone()).await;
    Some(Cluster {
        gateways: [app.http.clone(), second.url.clone()],
        app,
        second: Some(second),
        redis: Some(redis),
    })
}

pub async fn cluster(backend: Backend) -> Cluster {
    let app = spawn_app(backend).await;
    if backend == Backend::Sqlite {
        let http = app.http.clone();
        return Cluster {
            gateways: [http.clone(), http],
            app,
            second: None,
            redis: None,
        };
    }
    let second = ExtraGateway::start(app.settings.clone()).await;
    Cluster {
        gateways: [app.http.clone(), second.url.clone()],
        app,
        second: Some(second),
        redis: None,
    }
}

impl Cluster {
    pub async fn stop(self) {
        if let Some(second) = self.second {
            second.stop().await;
        }
        self.app.stop().await;
    }
}

/// Generates one test per backend (`embedded`, `postgres_redis`) for each
/// listed `async fn(&Cluster)`.
#[macro_export]
macro_rules! cluster_tests {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let cluster = $crate::support::cluster::cluster($crate::support::Backend::Sqlite).await;
                    super::$name(&cluster).await;
                    cluster.stop().await;
                }
            )*
        }
        mod postgres_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let cluster = $crate::support::cluster::cluster($crate::support::Backend::Postgres).await;
                    super::$name(&cluster).await;
                    cluster.stop().await;
                }
            )*
        }
    };
}

/// Generates one test on a fresh Redis Cluster (three masters, three
/// replicas) for each listed `async fn(&Cluster)`; skipped with a message
/// where redis-server or redis-cli is missing.
#[macro_export]
macro_rules! redis_cluster_tests {
    ($($name:ident),* $(,)?) => {
        mod redis_cluster {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(cluster) = $crate::support::cluster::on_redis_cluster().await else {
                        return;
                    };
                    super::$name(&cluster).await;
                    cluster.stop().await;
                }
            )*
        }
    };
}
