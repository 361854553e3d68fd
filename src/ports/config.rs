//! Runtime limits of a [`super::Node`].
//!
//! Storage is fixed by the node's const generics (see [`super::Node`]); the
//! fields here cap how much of that storage a single port or a single peer
//! node may take, so one hostile peer cannot starve the others.

/// Per-port and per-peer limits. `Config::default()` documents the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Most user messages queued at one port (default 64). Worst-case memory
    /// is bounded by the node's `MSGS` pool regardless.
    pub max_queued_per_port: usize,
    /// Most out-of-order (held) control events for one port (default 16).
    ///
    /// Legitimate traffic needs holding only while a port's previous peer
    /// changes: events from the new sender wait for the old sender's last
    /// event (UpdatePreviousPeer). This bound must exceed what an honest
    /// sender can have in flight during that window; past it the event is
    /// dropped and reported as [`super::Violation::HeldPerPortExceeded`],
    /// and the route loses that event. Total storage is the node's `HELD`.
    pub max_held_per_port: usize,
    /// Most out-of-order (held) control events sent by one peer node, over all
    /// ports (default 32).
    pub max_held_per_node: usize,
    /// Most self-addressed events processed at the end of one call (default
    /// 4096); the rest wait for the next call.
    pub max_local_steps: usize,
    /// Proxy bypass by a direct request to the proxy's previous peer (event
    /// type 9, a hyperport extension) instead of Chromium's ObserveProxy
    /// walk around the route (default `true`). Collapsing a chain of N
    /// proxies then costs O(N) events instead of O(N²). Set to `false` when
    /// any node on a route may be a Chromium ports node, which drops type 9
    /// (its proxies would then never be bypassed).
    pub direct_bypass: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_queued_per_port: 64,
            max_held_per_port: 16,
            max_held_per_node: 32,
            max_local_steps: 4096,
            direct_bypass: true,
        }
    }
}
