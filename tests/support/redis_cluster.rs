//! A real Redis Cluster on private ports: three masters with one replica
//! each, made with `redis-cli --cluster create`, which a test may wound by
//! killing a master.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::process::free_port;

struct Node {
    port: u16,
    child: Option<Child>,
}

pub struct RedisCluster {
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
}

/// A port whose cluster bus port (+10000) is free too.
fn cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port < 55_000 && std::net::TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

async fn cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .await
        .expect("redis-cli");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl RedisCluster {
    /// Starts the cluster, or `None` (with a SKIPPED line) when this
    /// machine lacks redis-server or redis-cli.
    pub async fn start() -> Option<Self> {
        for tool in ["redis-server", "redis-cli"] {
            if std::process::Command::new(tool).arg("--version").output().is_err() {
                eprintln!("SKIPPED: {tool} is not installed, so no Redis Cluster can be made");
                return None;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let port = cluster_port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--dir", &dir.path().display().to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("start redis-server");
            nodes.push(Node {
                port,
                child: Some(child),
            });
        }
        for node in &nodes {
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(("127.0.0.1", node.port)).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .await
            .expect("redis-cli --cluster create");
        assert!(
            output.status.success(),
            "cluster create failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let cluster = Self { nodes, _dir: dir };
        cluster.wait_ok().await;
        // Replicas in sync, so a failover has something to promote.
        for node in &cluster.nodes {
            for _ in 0..200 {
                let info = cli(node.port, &["info", "replication"]).await;
                if info.contains("role:master") || info.contains("master_link_status:up") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Some(cluster)
    }

    /// Seed nodes, as `REDIS_CLUSTER_NODES` takes them.
    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }

    fn live(&self) -> impl Iterator<Item = u16> + '_ {
        self.nodes.iter().filter(|n| n.child.is_some()).map(|n| n.port)
    }

    /// Waits until every live node reports `cluster_state:ok`.
    pub async fn wait_ok(&self) {
        for _ in 0..400 {
            let mut ok = true;
            for port in self.live() {
                ok &= cli(port, &["cluster", "info"]).await.contains("cluster_state:ok");
            }
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the Redis Cluster never reached cluster_state:ok");
    }

    /// The port of the master that owns `key`'s slot now.
    pub async fn master_of(&self, key: &str) -> u16 {
        self.owner(key)
            .await
            .unwrap_or_else(|| panic!("no master owns the slot of {key}"))
    }

    /// Waits until a live node other than `old` owns `key`'s slot (a
    /// replica promoted by failover) and the cluster is ok again.
    pub async fn wait_failover(&self, key: &str, old: u16) -> u16 {
        for _ in 0..600 {
            if let Some(port) = self.owner(key).await
                && port != old
                && self.live().any(|p| p == port)
            {
                self.wait_ok().await;
                return port;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no replica took over the slot of {key}");
    }

    async fn owner(&self, key: &str) -> Option<u16> {
        let port = self.live().next().expect("a live node");
        let slot: u16 = cli(port, &["cluster", "keyslot", key]).await.trim().parse().unwrap();
        for line in cli(port, &["cluster", "nodes"]).await.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let owns = fields[8..].iter().any(|range| {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if (lo..=hi).contains(&slot))
            });
            if owns {
                let address = fields[1].split('@').next().unwrap();
                return address.rsplit_once(':').unwrap().1.parse().ok();
            }
        }
        None
    }

    /// How many connections of the node on `port` follow the sharded `channel`.
    pub async fn shard_subscribers(&self, port: u16, channel: &str) -> i64 {
        let answer = cli(port, &["pubsub", "shardnumsub", channel]).await;
        answer.lines().nth(1).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
    }

    /// Kills (SIGKILL) the node on `port`.
    pub async fn kill(&mut self, port: u16) {
        let node = self
            .nodes
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a node of the cluster");
        let mut child = node.child.take().expect("the node is alive");
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }
}
