//! `loadgen rooms`: how `GET /chat/rooms` holds up with many rooms and many
//! memberships. Makes `rooms` rooms (every other one private) and one
//! reader who belongs to `memberships` of them, then walks every page of
//! the reader's listing, timing each page. (Statements per page are not
//! counted here: counters such as `pg_stat_database.xact_commit` also move
//! with the suite's background work, too much to tell 2 from 5. Count them
//! with `log_statement = 'all'`, as docs/BENCHMARKS.md shows.)

use std::time::Instant;

use anyhow::Context;
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde_json::json;

use crate::setup::*;

pub async fn room_list(
    gateway: String,
    rooms: usize,
    memberships: usize,
    page_sizes: Vec<u32>,
    walks: usize,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let base = gateway.as_str();
    // Owners stay under the per-user room quota (100 by default).
    let owners = accounts(&http, base, rooms.div_ceil(90).max(1)).await?;
    let reader_token = accounts(&http, base, 1).await?.remove(0);
    let reader_id = get(&http, &format!("{base}/auth/me"), &reader_token).await?["id"]
        .as_i64()
        .context("reader id")?;
    let run = run_id();
    println!(
        "setting up {rooms} rooms (every other one private) over {} owners; the reader belongs to {memberships}",
        owners.len()
    );
    let started = Instant::now();
    let made: Vec<anyhow::Result<()>> = futures::stream::iter(0..rooms)
        .map(|r| {
            let (http, owner) = (&http, &owners[r % owners.len()]);
            let (run, reader_token) = (&run, &reader_token);
            async move {
                let visibility = if r % 2 == 0 { "public" } else { "private" };
                let room = post(
                    http,
                    &format!("{base}/chat/rooms"),
                    Some(owner),
                    json!({"name": format!("list-{run}-{r}"), "visibility": visibility}),
                )
                .await?;
                let id = room["id"].as_i64().context("room id")?;
                if r < memberships {
                    if visibility == "public" {
                        post(
                            http,
                            &format!("{base}/chat/rooms/{id}/join"),
                            Some(reader_token),
                            json!({}),
                        )
                        .await?;
                    } else {
                        post(
                            http,
                            &format!("{base}/chat/rooms/{id}/members"),
                            Some(owner),
                            json!({"user_id": reader_id}),
                        )
                        .await?;
                    }
                }
                Ok(())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    made.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    println!("set up in {:.1}s", started.elapsed().as_secs_f64());

    for page_size in page_sizes {
        for (label, filter) in [("all", ""), ("joined", "&membership=joined")] {
            let mut pages = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let mut listed = 0;
            let mut page_count = 0;
            for _ in 0..walks {
                let mut token: Option<String> = None;
                listed = 0;
                loop {
                    let mut url = format!("{base}/chat/rooms?page_size={page_size}{filter}");
                    if let Some(t) = &token {
                        url.push_str(&format!("&page_token={t}"));
                    }
                    let t = Instant::now();
                    let page = get(&http, &url, &reader_token).await?;
                    pages.record(t.elapsed().as_micros().max(1) as u64)?;
                    page_count += 1;
                    listed += page["rooms"].as_array().map_or(0, Vec::len);
                    match page["next_page_token"].as_str() {
                        Some(next) => token = Some(next.to_owned()),
                        None => break,
                    }
                }
            }
            println!(
                "page_size {page_size}, membership {label}: {listed} rooms in {} pages per walk; \
                 page p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({page_count} pages)",
                page_count / walks.max(1),
                pages.value_at_quantile(0.5) as f64 / 1000.0,
                pages.value_at_quantile(0.99) as f64 / 1000.0,
                pages.max() as f64 / 1000.0,
            );
        }
    }
    Ok(())
}
