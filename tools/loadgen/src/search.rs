//! `loadgen search`: `GET /chat/search` over a large message table.
//!
//! Makes `rooms` rooms and a reader who belongs to `member_rooms` of them,
//! then fills the rooms with `messages` messages written straight into the
//! messaging service's PostgreSQL schema with `psql` (the API would take
//! hours for a million). Each message is 6 to 15 words drawn from a
//! 20,000-word vocabulary with Zipf-like frequencies (rank `k` with
//! probability ∝ 1/k, as in natural text), so a few words are in most
//! messages and most words are rare. PostgreSQL's English configuration
//! drops none of these made-up words, so the 100 most frequent ranks
//! play the part of stop words and queries draw from ranks 100 to 5,000.
//! Then it times searches through the gateway, one at a time, by kind.

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde_json::json;

use crate::setup::*;

/// The query string (and extra parameters) of the i-th search of a kind.
type QueryOf<'a> = Box<dyn Fn(usize) -> String + 'a>;

pub struct SearchArgs {
    pub gateway: String,
    /// The benchmark database (the server's DATABASE_URL).
    pub database: String,
    pub rooms: usize,
    pub member_rooms: usize,
    pub messages: u64,
    pub queries: usize,
}

pub async fn search(args: SearchArgs) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let base = args.gateway.as_str();
    let owners = accounts(&http, base, args.rooms.div_ceil(90).max(1)).await?;
    let reader = accounts(&http, base, 1).await?.remove(0);
    let run = run_id();
    let ids: Vec<anyhow::Result<i64>> = futures::stream::iter(0..args.rooms)
        .map(|r| {
            let (http, owner, reader, run) = (&http, &owners[r % owners.len()], &reader, &run);
            async move {
                let room = post(
                    http,
                    &format!("{base}/chat/rooms"),
                    Some(owner),
                    json!({"name": format!("search-{run}-{r}")}),
                )
                .await?;
                let id = room["id"].as_i64().context("room id")?;
                if r < args.member_rooms {
                    post(http, &format!("{base}/chat/rooms/{id}/join"), Some(reader), json!({})).await?;
                }
                Ok(id)
            }
        })
        .buffered(16)
        .collect()
        .await;
    let ids: Vec<i64> = ids.into_iter().collect::<anyhow::Result<_>>()?;

    println!(
        "writing {} messages into {} rooms with psql (the reader is in {})…",
        args.messages, args.rooms, args.member_rooms
    );
    let started = Instant::now();
    psql(&args.database, &seed_sql(&ids, args.messages))?;
    println!("written and analysed in {:.0}s", started.elapsed().as_secs_f64());
    let words: Vec<String> = psql(
        &args.database,
        "SELECT word FROM messaging.bench_vocab WHERE rank BETWEEN 100 AND 5000 ORDER BY random() LIMIT 1000",
    )?
    .lines()
    .map(str::to_owned)
    .collect();
    let common: Vec<String> = psql(
        &args.database,
        "SELECT word FROM messaging.bench_vocab WHERE rank BETWEEN 100 AND 110 ORDER BY rank",
    )?
    .lines()
    .map(str::to_owned)
    .collect();

    // A room the reader is in.
    let one_room = ids[0];
    let kinds: Vec<(&str, QueryOf)> = vec![
        ("one word, all my rooms", Box::new(|i| words[i % words.len()].clone())),
        (
            "two words, all my rooms",
            Box::new(|i| format!("{} {}", words[i % words.len()], words[(i * 7 + 3) % words.len()])),
        ),
        (
            "one word, one room",
            Box::new(|i| format!("{}&room_id={one_room}", words[(i * 3) % words.len()])),
        ),
        (
            "the most common query words (ranks 100-110), all my rooms",
            Box::new(|i| common[i % common.len()].clone()),
        ),
    ];
    for (label, query) in &kinds {
        let mut times = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        let mut hits = 0usize;
        for i in 0..args.queries {
            let url = format!("{base}/chat/search?q={}", query(i));
            let t = Instant::now();
            let page = get(&http, &url, &reader).await?;
            times.record(t.elapsed().as_micros().max(1) as u64)?;
            hits += page["hits"].as_array().map_or(0, Vec::len);
        }
        println!(
            "{label}: {} queries, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.1} hits per page",
            args.queries,
            times.value_at_quantile(0.5) as f64 / 1000.0,
            times.value_at_quantile(0.95) as f64 / 1000.0,
            times.value_at_quantile(0.99) as f64 / 1000.0,
            times.max() as f64 / 1000.0,
            hits as f64 / args.queries as f64,
        );
    }
    Ok(())
}

/// A vocabulary of 20,000 made-up lowercase words, then `messages` messages
/// spread evenly over the rooms, each of 6 to 15 words at Zipf-like ranks
/// (`exp(random() * ln 20000)`: log-uniform, so P(rank k) ∝ 1/k), then each
/// room's seq mark.
fn seed_sql(rooms: &[i64], messages: u64) -> String {
    let n = rooms.len();
    let ids = rooms.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    format!(
        "SET search_path TO messaging;
         DROP TABLE IF EXISTS bench_vocab;
         CREATE TABLE bench_vocab AS
           SELECT i AS rank, translate(substr(md5(i::text), 1, 4 + i % 5), '0123456789', 'ghijklmnop') || 'a' AS word
           FROM generate_series(1, 20000) i;
         CREATE UNIQUE INDEX ON bench_vocab (rank);
         INSERT INTO messages (room_id, seq, user_id, content, created_at)
         SELECT (ARRAY[{ids}])[1 + g % {n}], g / {n} + 1, 1,
                (SELECT string_agg(v.word, ' ')
                 FROM (SELECT least(20000, floor(exp(random() * ln(20000)))::int + 0 * g) AS r
                       FROM generate_series(1, 6 + (g % 10)) k) x
                 JOIN bench_vocab v ON v.rank = x.r),
                1700000000000000 + g * 1000
         FROM generate_series(0, {messages} - 1) g;
         INSERT INTO room_sequences (room_id, last_seq)
           SELECT room_id, max(seq) FROM messages GROUP BY room_id
           ON CONFLICT (room_id) DO UPDATE SET last_seq = EXCLUDED.last_seq;
         ANALYZE messages;"
    )
}

fn psql(database: &str, sql: &str) -> anyhow::Result<String> {
    let out = Command::new("psql")
        .args([database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .context("running psql")?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
