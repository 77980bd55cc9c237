//! The suite on both backends with two gateways where the bus allows: on
//! PostgreSQL + Redis a second gateway shares the first one's Redis, so
//! tests see what crosses processes; on the embedded default both "gateways"
//! are the one process.

use super::{Backend, ExtraGateway, TestApp, spawn_app};

pub struct Cluster {
    pub app: TestApp,
    pub gateways: [String; 2],
    second: Option<ExtraGateway>,
}

pub async fn cluster(backend: Backend) -> Cluster {
    let app = spawn_app(backend).await;
    if backend == Backend::Sqlite {
        let http = app.http.clone();
        return Cluster {
            gateways: [http.clone(), http],
            app,
            second: None,
        };
    }
    let second = ExtraGateway::start(app.settings.clone()).await;
    Cluster {
        gateways: [app.http.clone(), second.url.clone()],
        app,
        second: Some(second),
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
