//! The per-port record.

use super::event::INITIAL_SEQ;
use super::name::{NodeName, PortName};

/// Lifecycle state of a port (closed ports are erased at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    /// Created, not yet given a peer.
    Uninitialized,
    /// A user-visible end of a route.
    Receiving,
    /// Sent to another node; holds events until that node accepts it.
    Buffering,
    /// Forwards everything to its peer until it is bypassed.
    Proxying,
}

/// Everything a node knows about one port. Messages and held events live in
/// node-wide pools keyed by port name, so this record is small and `Copy`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Port {
    pub name: PortName,
    pub state: PortState,
    pub peer_node: NodeName,
    pub peer_port: PortName,
    pub prev_node: NodeName,
    pub prev_port: PortName,
    /// Node whose UpdatePreviousPeer named the current prev, until the
    /// first event from that prev arrives (invalid once confirmed).
    pub prev_announcer: NodeName,
    /// When this port's current peer is a port of this node that learns of
    /// this port only from another node (a port created here from a
    /// descriptor: the node that sent it; a port re-pointed past a proxy:
    /// the proxy's node), that node: only its UpdatePreviousPeer names this
    /// port there. Invalid otherwise; reset whenever the peer changes.
    pub announcer: NodeName,
    /// The edge this port last left (`set_peer`) while its `announcer` was
    /// valid, and that announcer: what it still sends on that edge (a
    /// proxy's final UpdatePreviousPeer, a merge's) depends on that node
    /// like what it sent before.
    pub left: (NodeName, PortName, NodeName),
    pub pending_merge: bool,
    pub pending_merge_node: NodeName,
    /// Next control number on the edge to the current peer.
    pub ctl_send: u64,
    /// Next control number expected from the current prev.
    pub ctl_recv: u64,
    pub next_seq_send: u64,
    pub last_seq_ack: u64,
    pub ack_interval: u64,
    /// Flow control: the read acknowledgement requested and not yet
    /// received (0 = none outstanding).
    pub fc_requested: u64,
    pub last_seq_to_receive: u64,
    pub seq_to_ack: u64,
    /// Next user sequence number to hand out (receiving) or forward (proxy).
    pub queue_next_seq: u64,
    pub signalable: bool,
    /// Deferred ObserveProxyAck(retry) to send when this proxy goes away.
    pub deferred_ack: Option<(NodeName, PortName)>,
    pub remove_on_last: bool,
    pub peer_closed: bool,
    pub peer_lost: bool,
    /// The edge to the current peer is new and not yet confirmed by the
    /// peer (PeerConfirmed): what this port sends on it is counted in the
    /// node's send windows (see `Node::windows`).
    pub unconfirmed: bool,
}

impl Port {
    pub fn new(name: PortName) -> Self {
        Port {
            name,
            state: PortState::Uninitialized,
            peer_node: NodeName::INVALID,
            peer_port: PortName::INVALID,
            prev_node: NodeName::INVALID,
            prev_port: PortName::INVALID,
            prev_announcer: NodeName::INVALID,
            announcer: NodeName::INVALID,
            left: (NodeName::INVALID, PortName::INVALID, NodeName::INVALID),
            pending_merge: false,
            pending_merge_node: NodeName::INVALID,
            ctl_send: INITIAL_SEQ,
            ctl_recv: INITIAL_SEQ,
            next_seq_send: INITIAL_SEQ,
            last_seq_ack: 0,
            ack_interval: 0,
            fc_requested: 0,
            last_seq_to_receive: 0,
            seq_to_ack: 0,
            queue_next_seq: INITIAL_SEQ,
            signalable: true,
            deferred_ack: None,
            remove_on_last: false,
            peer_closed: false,
            peer_lost: false,
            unconfirmed: false,
        }
    }

    /// Re-points the port; the control stream to the new peer restarts at 1.
    pub fn set_peer(&mut self, node: NodeName, port: PortName) {
        if self.announcer.is_valid() {
            self.left = (self.peer_node, self.peer_port, self.announcer);
        }
        self.peer_node = node;
        self.peer_port = port;
        self.ctl_send = INITIAL_SEQ;
        self.announcer = NodeName::INVALID;
    }

    /// Takes the next control number on the edge to the current peer.
    pub fn take_ctl(&mut self) -> u64 {
        let n = self.ctl_send;
        self.ctl_send = self.ctl_send.saturating_add(1);
        n
    }
}
