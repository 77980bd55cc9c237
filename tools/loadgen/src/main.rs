//! `loadgen`: measures the chat suite from the outside.
//!
//! - `fanout`: N Socket.IO clients across M rooms and G gateways; a few of
//!   them send at a fixed rate; every receipt is timed against the send.
//!   Reports deliveries/s, loss, and send→receive latency p50/p99.
//! - `idle`: N idle Socket.IO connections to one gateway; reports the
//!   gateway's RSS per connection (give its pid).
//! - `persist`: SendMessage over gRPC from C concurrent callers across M
//!   rooms; reports persisted messages/s.
//! - `logins`: a login storm at a fixed rate, to run beside `fanout`.
//! - `rooms`: `GET /chat/rooms` with many rooms and memberships; reports
//!   page latency.
//!
//! Everything targets loopback addresses given on the command line, and
//! every loop is bounded by `--duration`.

mod fanout;
mod idle;
mod logins;
mod persist;
mod roomlist;
mod search;
mod setup;
mod socket;

use clap::{Parser, Subcommand};

use crate::fanout::{Placement, fanout};
use crate::idle::idle;
use crate::logins::logins;
use crate::persist::persist;
use crate::roomlist::room_list;

#[derive(Parser)]
#[command(about = "Load generator for the chat suite")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Fan-out throughput and latency.
    Fanout {
        /// Gateway base URLs, comma-separated; clients are spread over them.
        #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
        gateways: Vec<String>,
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 1)]
        rooms: usize,
        /// Messages per second, in total, from the sending clients.
        #[arg(long, default_value_t = 50)]
        rate: u64,
        /// How many clients send (spread over the rooms).
        #[arg(long, default_value_t = 10)]
        senders: usize,
        /// Distinct accounts the clients sign in as.
        #[arg(long, default_value_t = 20)]
        users: usize,
        #[arg(long, default_value_t = 20)]
        duration: u64,
        /// Which gateway each client connects to.
        #[arg(long, value_enum, default_value_t = Placement::Interleave)]
        placement: Placement,
        /// Seconds to wait, every client joined and idle, before sending.
        #[arg(long, default_value_t = 1)]
        settle: u64,
        /// Seconds to keep every connection open after printing the results.
        #[arg(long, default_value_t = 0)]
        linger: u64,
    },
    /// Memory per idle connection.
    Idle {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        #[arg(long, default_value_t = 10_000)]
        clients: usize,
        /// The gateway's process id, to read its RSS.
        #[arg(long)]
        pid: u32,
        /// Keep the connections this many seconds, then report how many dropped.
        #[arg(long, default_value_t = 0)]
        hold: u64,
    },
    /// Persisted messages per second over gRPC.
    Persist {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        grpc: String,
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        duration: u64,
    },
    /// Login attempts at a fixed rate (password checks on the server).
    Logins {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        /// Attempts per second.
        #[arg(long, default_value_t = 200)]
        rate: u64,
        /// Accounts the attempts rotate over.
        #[arg(long, default_value_t = 20)]
        accounts: usize,
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Register the accounts, then start the attempts once this file exists.
        #[arg(long)]
        start_when: Option<std::path::PathBuf>,
    },
    /// Search over a large message table (PostgreSQL only: fills it with psql).
    Search {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        /// The server's DATABASE_URL.
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        /// How many of them the searching reader belongs to.
        #[arg(long, default_value_t = 50)]
        member_rooms: usize,
        #[arg(long, default_value_t = 1_000_000)]
        messages: u64,
        /// Searches per kind.
        #[arg(long, default_value_t = 400)]
        queries: usize,
    },
    /// The room list with many rooms and memberships.
    Rooms {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        gateway: String,
        #[arg(long, default_value_t = 1000)]
        rooms: usize,
        /// How many of them the reader belongs to.
        #[arg(long, default_value_t = 100)]
        memberships: usize,
        /// Page sizes to walk with, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "50,100")]
        page_sizes: Vec<u32>,
        /// Full walks of the listing per page size.
        #[arg(long, default_value_t = 20)]
        walks: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().mode {
        Mode::Fanout {
            gateways,
            clients,
            rooms,
            rate,
            senders,
            users,
            duration,
            placement,
            settle,
            linger,
        } => {
            fanout(fanout::Args {
                gateways,
                clients,
                room_count: rooms,
                rate,
                senders,
                users,
                duration,
                placement,
                settle,
                linger,
            })
            .await
        }
        Mode::Idle {
            gateway,
            clients,
            pid,
            hold,
        } => idle(gateway, clients, pid, hold).await,
        Mode::Persist {
            gateway,
            grpc,
            rooms,
            concurrency,
            duration,
        } => persist(gateway, grpc, rooms, concurrency, duration).await,
        Mode::Logins {
            gateway,
            rate,
            accounts,
            duration,
            start_when,
        } => logins(gateway, rate, accounts, duration, start_when).await,
        Mode::Rooms {
            gateway,
            rooms,
            memberships,
            page_sizes,
            walks,
        } => room_list(gateway, rooms, memberships, page_sizes, walks).await,
        Mode::Search {
            gateway,
            database,
            rooms,
            member_rooms,
            messages,
            queries,
        } => {
            search::search(search::SearchArgs {
                gateway,
                database,
                rooms,
                member_rooms,
                messages,
                queries,
            })
            .await
        }
    }
}
