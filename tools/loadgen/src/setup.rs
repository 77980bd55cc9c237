//! Accounts and rooms made over REST before a run.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}

pub fn run_id() -> String {
    format!("{:x}", micros_now())
}

pub async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> anyhow::Result<Value> {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let response = req.send().await?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{url}: {status} {value}");
    }
    Ok(value)
}

/// Registers `n` accounts and returns their access tokens.
pub async fn accounts(http: &reqwest::Client, base: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let run = run_id();
    let mut tokens = Vec::new();
    for i in 0..n {
        let body = json!({"email": format!("load-{run}-{i}@example.com"), "password": "Passw0rd!", "first_name": "Load", "last_name": format!("{i}")});
        let session = post(http, &format!("{base}/auth/register"), None, body).await?;
        tokens.push(session["token"].as_str().context("token")?.to_owned());
    }
    Ok(tokens)
}

/// Creates `n` rooms owned by the first account and makes every account a member.
pub async fn rooms(http: &reqwest::Client, base: &str, tokens: &[String], n: usize) -> anyhow::Result<Vec<i64>> {
    let run = run_id();
    let mut ids = Vec::new();
    for r in 0..n {
        let room = post(
            http,
            &format!("{base}/chat/rooms"),
            Some(&tokens[0]),
            json!({"name": format!("load-{run}-{r}")}),
        )
        .await?;
        let id = room["id"].as_i64().context("room id")?;
        for t in &tokens[1..] {
            post(http, &format!("{base}/chat/rooms/{id}/join"), Some(t), json!({})).await?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// GET with a bearer token; an error for any non-2xx answer.
pub async fn get(http: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<Value> {
    let response = http.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{url}: {status} {value}");
    }
    Ok(value)
}
