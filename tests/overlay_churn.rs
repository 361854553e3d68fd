//! Seeded simulator runs of the `overlay` example's scenario with churn over
//! real topologies: lossy, duplicating, reordering links; links going down
//! and up; nodes restarting with the same key and with a new key, while
//! user messages flow. Every run asserts all the example's checks: every
//! user message on a pipe whose ends stayed alive delivered exactly once
//! and in order; after every pipe is closed, no port, proxy, record, stray
//! peer entry or correspondent of a key that is gone is left; the recorded
//! trace replays into fresh nodes with identical outputs and state.
//!
//! `OVERLAY_CHURN_SEEDS=N` runs N seeds per topology (default 2, what CI
//! affords); the full count was run once in release and is recorded in
//! BENCHMARKS.md (`OVERLAY_CHURN_SEEDS=250 cargo test --release
//! --features sim --test overlay_churn`: 4 topologies x 250 = 1,000 runs).
//! `OVERLAY_CHURN_FIRST_SEED=S` starts at seed S (default 1) and
//! `OVERLAY_CHURN_ONLY=FILE` keeps one topology, to resume a long run.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/overlay.rs"]
mod overlay;

use hyperport::sim::Topology;
use overlay::{Options, run};

const TOPOLOGIES: [&str; 4] = [
    "zoo-Abilene.txt",
    "zoo-Nsfnet.txt",
    "zoo-Internet2.txt",
    "zoo-Sunet.txt",
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seeds() -> u64 {
    std::env::var("OVERLAY_CHURN_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

#[test]
fn churn_keeps_delivery_exact_and_leaves_nothing_behind() {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut runs = 0;
            let mut restarts = 0;
            let mut lost = 0;
            let only: String = env_or("OVERLAY_CHURN_ONLY", String::new());
            let first: u64 = env_or("OVERLAY_CHURN_FIRST_SEED", 1);
            for name in TOPOLOGIES
                .into_iter()
                .filter(|n| only.is_empty() || *n == only)
            {
                let path = format!("{}/vectors/topologies/{name}", env!("CARGO_MANIFEST_DIR"));
                let t = Topology::from_file(&path).unwrap();
                for seed in first..first.saturating_add(seeds()) {
                    let o = Options {
                        pipes: 6,
                        messages: 8,
                        record_trace: true,
                        churn: 10,
                        ..Options::new(t.clone(), seed)
                    };
                    let out = run(&o).unwrap_or_else(|e| panic!("{name} seed {seed}: {e}"));
                    let failed: Vec<&String> = out
                        .checks
                        .iter()
                        .filter(|(_, ok)| !ok)
                        .map(|(n, _)| n)
                        .collect();
                    assert!(failed.is_empty(), "{name} seed {seed}: {failed:?}");
                    assert!(
                        out.checks
                            .iter()
                            .any(|(n, ok)| n.starts_with("replay") && *ok)
                    );
                    runs += 1;
                    restarts += out.counters.restarts;
                    lost += out.counters.nodes_lost;
                    // One line per run (seen with `--nocapture`): a long
                    // run shows how far it got.
                    eprintln!("run {runs}: {name} seed {seed} passed");
                }
            }
            eprintln!("{runs} churn runs passed ({restarts} restarts, {lost} correspondents lost)");
        })
        .unwrap()
        .join()
        .unwrap();
}
