//! Runtime limits of a [`super::Node`].
//!
//! Storage is fixed by the node's const generics (see [`super::Node`]); the
//! fields here cap how much of that storage a single port or a single peer
//! node may take, so one hostile peer cannot starve the others.

use crate::time::Duration;

/// Per-port and per-peer limits. `Config::default()` documents the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Most user messages queued at one port (default 64). Worst-case memory
    /// is bounded by the node's `MSGS` pool regardless. With
    /// [`Config::flow_control`] it is also the most messages a sender has
    /// unread (unacknowledged) at its conjugate, so an honest sender never
    /// overflows this bound anywhere on the route (all nodes of a network
    /// share it).
    pub max_queued_per_port: usize,
    /// Most out-of-order (held) control events for one port from one
    /// sending node (default 16).
    ///
    /// Legitimate traffic needs holding only while a port's previous peer
    /// changes: events from the new sender wait for the old sender's last
    /// event (UpdatePreviousPeer). An honest hyperport sender has at most
    /// [`Config::send_window`] events in flight in that window, so this
    /// bound must be at least the peers' `send_window`; past it the event
    /// is dropped and reported as [`super::Violation::HeldPerPortExceeded`]
    /// against that node, and the route loses that event. Events of other
    /// nodes held for the same port do not count (each node's window is its
    /// own), so one port may hold this many per sending node, within
    /// [`Config::max_held_per_node`] per node and the node's `HELD` in all.
    pub max_held_per_port: usize,
    /// Most out-of-order (held) control events sent by one peer node, over all
    /// ports (default 32; at run time at most half the node's `HELD` pool,
    /// so that no single node can take the whole pool). This bound and
    /// [`Config::max_held_per_port`]
    /// apply to other nodes' events; this node's own (a local sender whose
    /// local peer waits for a previous peer's last event) are bounded by its
    /// own send windows and, with everything else, by the node's `HELD`
    /// pool: refusing them would lose a message `send_user_message` had
    /// accepted.
    pub max_held_per_node: usize,
    /// Send window after a peer change (default 16, the default of
    /// [`Config::max_held_per_port`]; active only with
    /// [`Config::direct_bypass`]).
    ///
    /// When a receiving port is re-pointed past a proxy it is
    /// *unconfirmed*: its new peer holds whatever it sends until the
    /// proxy's final UpdatePreviousPeer arrives there. Until the new peer
    /// answers with [`super::EventKind::PeerConfirmed`], the port sends at
    /// most this many sender-verified events to it, and at most
    /// [`Config::max_held_per_node`] over all its unconfirmed ports towards
    /// one node; every later event (user messages and control events alike,
    /// so the edge keeps its order) waits in this node, at most
    /// [`Config::max_queued_per_port`] per port and `MSGS` in all, and
    /// [`super::Node::send_user_message`] returns
    /// [`super::SendError::WouldBlock`] beyond that. Must be at most the
    /// peers' `max_held_per_port` (and [`Config::validate`] checks it is at
    /// most this node's), so an honest sender never trips the hold bound.
    /// A value above either hold bound is clamped to it at run time.
    /// Memory: the waiting events live in a pool of `MSGS` events per node
    /// (`MSGS·size_of(Event)` bytes), whatever this value.
    pub send_window: usize,
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
    /// End-to-end flow control (default `true`): a receiving port sends at
    /// most [`Config::max_queued_per_port`] messages its conjugate has not
    /// acknowledged reading; beyond that [`super::Node::send_user_message`]
    /// returns [`super::SendError::WouldBlock`] (nothing sent, nothing
    /// lost) until a read acknowledgement arrives
    /// ([`super::PortEvent::StatusChanged`] on the sender). Acknowledgements
    /// use the reference protocol's own events (UserMessageReadAckRequest
    /// once half that many are unacknowledged, UserMessageReadAck), so it
    /// works with Chromium peers too; a proxy forwards a ReadAck towards the
    /// sender. Without it a sender can overflow a queue at the conjugate or
    /// at a proxy of a port in transit, which drops the message and reports
    /// the sender (`QueueFull`). No extra memory.
    pub flow_control: bool,
    /// Age bound of a held (out-of-order) event (default 60 s): an event
    /// held longer is dropped ([`super::Stats::held_expired`]), so events
    /// parked by a node that never sends what they wait for cannot keep
    /// the pool full. Honest events are held only while a previous peer's
    /// last event is on its way (a transfer or a bypass in progress), so
    /// this must exceed the longest transport delay between nodes; an
    /// honest event held longer means that path has failed (report the
    /// node lost). The node learns the time from
    /// [`super::Node::handle_timeout`] (it stamps a held event with the
    /// latest time it was given) and asks for it with
    /// [`super::Node::poll_timeout`]. No memory: one [`crate::time::Instant`]
    /// per held event.
    pub max_held_age: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_queued_per_port: 64,
            max_held_per_port: 16,
            max_held_per_node: 32,
            send_window: 16,
            max_local_steps: 4096,
            direct_bypass: true,
            flow_control: true,
            max_held_age: Duration::from_secs(60),
        }
    }
}

impl Config {
    /// Checks the limits against each other: `send_window` must be at least
    /// 1 and at most `max_held_per_port` and `max_held_per_node` (all nodes
    /// of a network are expected to share one configuration).
    ///
    /// # Errors
    /// [`ConfigError::SendWindow`] if it is not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.send_window == 0
            || self.send_window > self.max_held_per_port
            || self.send_window > self.max_held_per_node
        {
            return Err(ConfigError::SendWindow);
        }
        Ok(())
    }
}

/// Why [`Config::validate`] rejected a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `send_window` is 0 or exceeds `max_held_per_port` or
    /// `max_held_per_node`: lower it (or raise the hold bounds).
    SendWindow,
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ConfigError::SendWindow => {
                "send_window must be between 1 and max_held_per_port/max_held_per_node"
            }
        })
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_window_above_hold_bound_is_rejected() {
        assert_eq!(Config::default().validate(), Ok(()));
        let c = Config {
            send_window: 17,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::SendWindow));
        let c = Config {
            send_window: 0,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::SendWindow));
    }
}
