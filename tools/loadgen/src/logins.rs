//! `loadgen logins`: a login storm. Registers a few accounts, then attempts
//! `POST /auth/login` at a fixed rate (open loop: a slow answer does not slow
//! the attempts) until `--duration` ends. Reports attempts, outcomes and the
//! latency of answered logins. Run it beside `fanout` to see what a storm of
//! password checks does to chat; SIGINT or SIGTERM ends the storm early, with
//! the report.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

use crate::setup::*;

pub async fn logins(
    gateway: String,
    rate: u64,
    accounts: usize,
    duration: u64,
    start_when: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let run = run_id();
    let mut emails = Vec::new();
    for i in 0..accounts.max(1) {
        let email = format!("storm-{run}-{i}@example.com");
        let body = json!({"email": email, "password": "Passw0rd!", "first_name": "Storm", "last_name": format!("{i}")});
        post(&http, &format!("{gateway}/auth/register"), None, body).await?;
        emails.push(email);
    }
    if let Some(path) = start_when {
        // Accounts are made; attempts wait for the go (another tool's setup
        // must not be among the refused).
        while !path.exists() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    println!(
        "login storm: {rate} attempts/s for {duration} s over {} accounts",
        emails.len()
    );

    let outcomes = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let latencies = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let url = format!("{gateway}/auth/login");
    let start = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    let mut attempts = 0u64;
    let mut inflight = Vec::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let end = tokio::time::sleep(Duration::from_secs(duration));
    tokio::pin!(end);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = &mut end => break,
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
        let email = emails[attempts as usize % emails.len()].clone();
        attempts += 1;
        let (http, url, outcomes, latencies) = (http.clone(), url.clone(), outcomes.clone(), latencies.clone());
        inflight.push(tokio::spawn(async move {
            let sent = Instant::now();
            let outcome = match http
                .post(&url)
                .json(&json!({"email": email, "password": "Passw0rd!"}))
                .send()
                .await
            {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status == 200 {
                        let micros = sent.elapsed().as_micros() as u64;
                        let _ = latencies.lock().expect("lock").record(micros.max(1));
                    }
                    status.to_string()
                }
                Err(e) if e.is_timeout() => "timeout".to_owned(),
                Err(_) => "error".to_owned(),
            };
            *outcomes.lock().expect("lock").entry(outcome).or_default() += 1;
        }));
    }
    let sending = start.elapsed().as_secs_f64();
    for task in inflight {
        let _ = task.await;
    }
    let outcomes = outcomes.lock().expect("lock").clone();
    let latencies = latencies.lock().expect("lock").clone();
    let ok = outcomes.get("200").copied().unwrap_or(0);
    let summary: Vec<String> = outcomes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    println!(
        "login storm: attempted {attempts} ({:.0}/s); {}; signed in {ok} ({:.1}/s); p50 {:.1} ms p99 {:.1} ms",
        attempts as f64 / sending,
        summary.join(", "),
        ok as f64 / start.elapsed().as_secs_f64(),
        latencies.value_at_quantile(0.5) as f64 / 1000.0,
        latencies.value_at_quantile(0.99) as f64 / 1000.0,
    );
    Ok(())
}
