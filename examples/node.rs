//! A real overlay node on a UDP socket (feature `tokio`).
//!
//! ```text
//! node --identity DIR [--listen ADDR] [--peer KEY@ADDR]... [--directory DIR]
//!      [--open KEY] [--grace SECS] [--print-key]
//! ```
//!
//! Standard output: `key <hex>` and `listening <addr>` first, then one line
//! per happening: `peer up <key> generation <n> <addr>`, `peer down <key>
//! generation <n> <reason>`, `pipe to <key>`, `pipe from <key>`,
//! `recv <key> <line>`, `pipe closed <key>`, `node lost <key> <reason>`,
//! `io error <op> <kind>`, and at the end `stopped flushed=<bool>
//! sent=<n> received=<n> send_errors=<n>`.
//!
//! Standard input: `/open KEY` opens a pipe to node KEY (any node of the
//! overlay whose location is in the `--directory`); any other line is sent
//! on the most recent pipe (opened or accepted). Ctrl-C (or the end of
//! standard input with `--exit-on-eof`) shuts the node down gracefully.
//!
//! The overlay has no lookup protocol: with `--directory DIR` (a directory
//! shared by the nodes of this machine) each node writes its location to
//! `DIR/<key>.loc` whenever it changes, and reads other nodes' from there.

#[path = "support/cli.rs"]
mod cli;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use hyperport::adapters::tokio::node::{
    NodeConfig, NodeEvent, NodeHandle, Pipe, RunningNode, ShutdownReport,
};
use hyperport::buf::{Reader, Writer};
use hyperport::routing::{Locator, MAX_LOCATOR_LEN};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// A real overlay node: hop sessions over UDP, routing, ports pipes to
/// other nodes by key.
#[derive(Parser, Debug)]
#[command(name = "node")]
struct Args {
    /// UDP address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory of this node's identity (file `overlay.key`, created with
    /// mode 0600 if missing).
    #[arg(long, value_name = "DIR")]
    identity: PathBuf,
    /// A neighbour to dial: its key (64 hex digits) @ its UDP address.
    /// Repeatable.
    #[arg(long, value_name = "KEY@ADDR", value_parser = parse_peer)]
    peer: Vec<([u8; 32], SocketAddr)>,
    /// Directory of locations shared by the nodes (written and read as
    /// `<key>.loc`).
    #[arg(long, value_name = "DIR")]
    directory: Option<PathBuf>,
    /// Open a pipe to this node at start (as the `/open KEY` command).
    #[arg(long, value_name = "KEY", value_parser = parse_key)]
    open: Option<[u8; 32]>,
    /// Seconds the shutdown may take to deliver what was sent.
    #[arg(long, default_value_t = 2.0, value_name = "SECS", value_parser = parse_secs)]
    grace: f64,
    /// Shut down when standard input ends (default: keep running until
    /// Ctrl-C).
    #[arg(long)]
    exit_on_eof: bool,
    /// Print this node's key (generating the identity if needed) and exit.
    #[arg(long)]
    print_key: bool,
}

fn parse_key(s: &str) -> Result<[u8; 32], String> {
    let v = hex::decode(s).map_err(|e| format!("key is not hex: {e}"))?;
    v.try_into()
        .map_err(|v: Vec<u8>| format!("key has {} bytes, expected 32", v.len()))
}

fn parse_peer(s: &str) -> Result<([u8; 32], SocketAddr), String> {
    let (k, a) = s
        .split_once('@')
        .ok_or_else(|| "expected KEY@ADDR".to_owned())?;
    let addr = a.parse().map_err(|e| format!("bad address {a:?}: {e}"))?;
    Ok((parse_key(k)?, addr))
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=3600.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds in 0..=3600")),
    }
}

fn short(key: &[u8; 32]) -> String {
    hex::encode(key)
}

fn location_path(dir: &Path, key: &[u8; 32]) -> PathBuf {
    dir.join(format!("{}.loc", hex::encode(key)))
}

/// Writes our location atomically (temporary file, rename).
fn publish(dir: &Path, key: &[u8; 32], loc: &Locator) -> std::io::Result<()> {
    let mut buf = [0u8; MAX_LOCATOR_LEN];
    let mut w = Writer::new(&mut buf);
    loc.encode(&mut w)
        .map_err(|_| std::io::Error::other("locator too long"))?;
    let text = hex::encode(w.written());
    let path = location_path(dir, key);
    let tmp = path.with_extension("loc.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)
}

fn lookup(dir: &Path, key: &[u8; 32]) -> Option<Locator> {
    let text = std::fs::read_to_string(location_path(dir, key)).ok()?;
    let bytes = hex::decode(text.trim()).ok()?;
    Locator::decode(&mut Reader::new(&bytes)).ok()
}

/// Gives the node `key`'s location from the directory, if there.
async fn locate(handle: &NodeHandle, dir: Option<&Path>, key: [u8; 32]) {
    if let Some(loc) = dir.and_then(|d| lookup(d, &key))
        && let Err(e) = handle.set_location(key, loc).await
    {
        eprintln!("location of {}: {e}", short(&key));
    }
}

fn main() {
    let args: Args = cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // The overlay node is a large value; unoptimized builds move it
        // through the stack when the task starts.
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => cli::fail(format_args!("cannot start the runtime: {e}")),
    };
    let code = rt.block_on(run(args));
    std::process::exit(code);
}

async fn run(args: Args) -> i32 {
    let mut config = NodeConfig::new();
    config.shutdown_grace = Duration::from_secs_f64(args.grace);
    if let Some(dir) = &args.directory
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        cli::fail(format_args!("cannot create {}: {e}", dir.display()));
    }
    let mut node = match RunningNode::bind(args.listen, &args.identity, config).await {
        Ok(n) => n,
        Err(e) => cli::fail(e),
    };
    let me = node.key();
    if args.print_key {
        println!("{}", short(&me));
        return 0;
    }
    println!("key {}", short(&me));
    println!("listening {}", node.local_addr());
    let handle = node.handle();
    let dir = args.directory.clone();
    let (Some(mut events), Some(mut incoming)) = (node.take_events(), node.take_incoming()) else {
        return 1;
    };
    for (key, addr) in &args.peer {
        if let Err(e) = handle.connect(*key, *addr).await {
            cli::fail(format_args!("--peer {}@{addr}: {e}", short(key)));
        }
    }
    // Standard input lines, read on their own task (tracked, joined below).
    let (line_tx, mut lines) = mpsc::channel::<String>(16);
    let stdin_task = tokio::spawn(async move {
        let mut input = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(l)) = input.next_line().await {
            if line_tx.send(l).await.is_err() {
                break;
            }
        }
    });
    let (recv_tx, mut received) = mpsc::channel::<([u8; 32], Option<String>)>(64);
    let mut readers = tokio::task::JoinSet::new();
    let mut current: Option<Pipe> = None;
    let mut open = args.open.map(|k| format!("/open {}", short(&k)));
    let mut stdin_open = true;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut publish_tick = tokio::time::interval(Duration::from_secs(1));
    let mut published: Option<Locator> = None;
    loop {
        let line = if let Some(l) = open.take() {
            Some(l)
        } else {
            tokio::select! {
                _ = &mut ctrl_c => break,
                _ = publish_tick.tick() => {
                    if let (Some(d), Ok(info)) = (&dir, handle.info().await)
                        && published.as_ref() != Some(&info.location) {
                            match publish(d, &me, &info.location) {
                                Ok(()) => published = Some(info.location),
                                Err(e) => eprintln!("cannot publish the location: {e}"),
                            }
                        }
                    None
                }
                e = events.recv() => {
                    let Some(e) = e else { break };
                    match e {
                        NodeEvent::PeerUp { key, generation, addr } => {
                            println!("peer up {} generation {generation} {addr}", short(&key));
                        }
                        NodeEvent::PeerDown { key, generation, reason } => {
                            println!("peer down {} generation {generation} {reason:?}", short(&key));
                        }
                        NodeEvent::NodeLost { key, reason } => {
                            println!("node lost {} {reason:?}", short(&key));
                        }
                        NodeEvent::LocationNeeded { key } => {
                            locate(&handle, dir.as_deref(), key).await;
                        }
                        NodeEvent::IoError { op, kind, to } => {
                            println!("io error {op:?} {kind:?} {to:?}");
                        }
                        _ => {}
                    }
                    None
                }
                p = incoming.accept() => {
                    let Some(p) = p else { break };
                    println!("pipe from {}", short(&p.remote()));
                    if let Some(old) = current.replace(p) {
                        spawn_reader(&mut readers, old, recv_tx.clone());
                    }
                    None
                }
                r = async { match current.as_mut() { Some(p) => p.recv().await.map(Some), None => std::future::pending().await } } => {
                    let key = current.as_ref().map(Pipe::remote).unwrap_or_default();
                    match r {
                        Some(Some(m)) => println!("recv {} {}", short(&key), String::from_utf8_lossy(&m)),
                        _ => {
                            println!("pipe closed {}", short(&key));
                            current = None;
                        }
                    }
                    None
                }
                m = received.recv() => {
                    match m {
                        Some((key, Some(m))) => println!("recv {} {m}", short(&key)),
                        Some((key, None)) => println!("pipe closed {}", short(&key)),
                        None => {}
                    }
                    None
                }
                l = lines.recv(), if stdin_open => {
                    match l {
                        Some(l) => Some(l),
                        None => {
                            stdin_open = false;
                            if args.exit_on_eof { break }
                            None
                        }
                    }
                }
            }
        };
        let Some(line) = line else { continue };
        if let Some(k) = line.strip_prefix("/open ") {
            let Ok(key) = parse_key(k.trim()) else {
                eprintln!("/open needs a key of 64 hex digits");
                continue;
            };
            locate(&handle, dir.as_deref(), key).await;
            match handle.open_pipe(key).await {
                Ok(p) => {
                    println!("pipe to {}", short(&key));
                    if let Some(old) = current.replace(p) {
                        spawn_reader(&mut readers, old, recv_tx.clone());
                    }
                }
                Err(e) => eprintln!("cannot open a pipe to {}: {e}", short(&key)),
            }
        } else if let Some(p) = &current {
            if let Err(e) = p.send(line.as_bytes()).await {
                eprintln!("send: {e}");
            }
        } else {
            eprintln!("no pipe yet: /open KEY first");
        }
    }
    println!("shutting down");
    drop(current);
    let report = node.shutdown().await;
    // Every task we spawned is joined.
    stdin_task.abort();
    let _ = stdin_task.await;
    readers.abort_all();
    while readers.join_next().await.is_some() {}
    match report {
        Ok(ShutdownReport { flushed, stats, .. }) => {
            println!(
                "stopped flushed={flushed} sent={} received={} send_errors={}",
                stats.pipe_messages_sent, stats.pipe_messages_received, stats.send_errors
            );
            0
        }
        Err(e) => {
            eprintln!("node: {e}");
            1
        }
    }
}

/// Keeps printing what a pipe that is no longer the current one receives.
fn spawn_reader(
    set: &mut tokio::task::JoinSet<()>,
    mut pipe: Pipe,
    out: mpsc::Sender<([u8; 32], Option<String>)>,
) {
    set.spawn(async move {
        let key = pipe.remote();
        while let Some(m) = pipe.recv().await {
            let _ = out
                .send((key, Some(String::from_utf8_lossy(&m).into_owned())))
                .await;
        }
        let _ = out.send((key, None)).await;
    });
}
