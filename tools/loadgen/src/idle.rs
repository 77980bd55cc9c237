//! `loadgen idle`: a gateway's RSS per idle connection.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Semaphore;

use crate::setup::*;
use crate::socket::*;

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS value")?.parse()?)
}

pub async fn idle(gateway: String, clients: usize, pid: u32, hold: u64) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let tokens = accounts(&http, &gateway, 10).await?;
    // Warm the gateway with a few connections so one-off allocations don't count.
    let mut sockets = Vec::new();
    for token in &tokens {
        sockets.push(connect(&gateway, token, |_| {}).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(pid)?;
    let gate = Arc::new(Semaphore::new(200));
    let mut pending = Vec::new();
    for i in 0..clients {
        let (gateway, token, gate) = (gateway.clone(), tokens[i % tokens.len()].clone(), gate.clone());
        pending.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await;
            connect(&gateway, &token, |_| {}).await
        }));
    }
    for p in pending {
        sockets.push(p.await??);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_kib(pid)?;
    println!("gateway RSS: {before} KiB before, {after} KiB with {clients} more idle connections");
    println!(
        "per idle connection: {:.1} KiB",
        (after.saturating_sub(before)) as f64 / clients as f64
    );
    if hold > 0 {
        tokio::time::sleep(Duration::from_secs(hold)).await;
        println!("after {hold}s: {} connections dropped", DROPPED.load(Ordering::Relaxed));
    }
    drop(sockets);
    Ok(())
}
