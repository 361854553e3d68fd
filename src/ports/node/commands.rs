//! The embedder API: creating, initializing, sending through, reading,
//! querying and closing ports, and the clean-shutdown check.

use heapless::Vec;
use rand_core::{CryptoRng, RngCore};

use super::Node;
use crate::ports::error::{
    CreateError, Failure, GetMessageError, InitializeError, PortError, SendError,
};
use crate::ports::event::{EventKind, Payload, PortDescriptor, UserMessage};
use crate::ports::name::{NodeName, PortName};
use crate::ports::port::{Port, PortState};

/// A message handed to the user by [`Node::get_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<P, const A: usize> {
    /// The embedder's payload.
    pub payload: P,
    /// Ports that arrived with it; they now belong to the reader.
    pub ports: Vec<PortName, A>,
}

/// What [`Node::get_status`] reports about a receiving port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortStatus {
    /// The next in-order message is queued.
    pub has_messages: bool,
    /// More messages may still arrive or be read.
    pub receiving_messages: bool,
    /// The conjugate port is closed (or was lost).
    pub peer_closed: bool,
    /// The peer is on another node.
    pub peer_remote: bool,
    /// Messages queued at the port (in order or not).
    pub queued_message_count: usize,
    /// Payload bytes queued at the port.
    pub queued_num_bytes: usize,
    /// Messages sent whose reading the conjugate has not acknowledged.
    pub unacknowledged_message_count: u64,
}

/// How strict [`Node::can_shutdown_cleanly`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownPolicy {
    /// No port of any kind may remain.
    DontAllowLocalPorts,
    /// Receiving ports and ports with a local peer may remain; no proxy.
    AllowLocalPorts,
}

impl<
    P,
    R,
    const PORTS: usize,
    const MSGS: usize,
    const A: usize,
    const HELD: usize,
    const OUT: usize,
    const NODES: usize,
> Node<P, R, PORTS, MSGS, A, HELD, OUT, NODES>
where
    P: Payload,
    R: RngCore + CryptoRng,
{
    /// Creates a port with no peer yet (see [`Node::initialize_port`]).
    ///
    /// # Errors
    /// [`CreateError::CapacityExceeded`] if the port table is full.
    pub fn create_uninitialized_port(&mut self) -> Result<PortName, CreateError> {
        let name = self.fresh_name();
        self.ports
            .push(Port::new(name))
            .map_err(|_| Failure::CapacityExceeded)?;
        Ok(name)
    }

    /// Gives an uninitialized port its peer and its expected previous peer
    /// (for a fresh cross-node pair, both are the other end).
    ///
    /// # Errors
    /// [`InitializeError::PortUnknown`], [`InitializeError::StateUnexpected`] if the
    /// port was already initialized, [`InitializeError::InvalidName`].
    pub fn initialize_port(
        &mut self,
        port: PortName,
        peer_node: NodeName,
        peer_port: PortName,
        prev_node: NodeName,
        prev_port: PortName,
    ) -> Result<(), InitializeError> {
        if !(peer_node.is_valid()
            && peer_port.is_valid()
            && prev_node.is_valid()
            && prev_port.is_valid())
        {
            return Err(Failure::InvalidName.into());
        }
        let p = self.port_mut(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Uninitialized {
            return Err(Failure::StateUnexpected.into());
        }
        p.state = PortState::Receiving;
        p.set_peer(peer_node, peer_port);
        p.prev_node = prev_node;
        p.prev_port = prev_port;
        self.status_changed(port);
        self.node_in_use(peer_node);
        self.node_in_use(prev_node);
        Ok(())
    }

    /// Creates two connected receiving ports on this node.
    ///
    /// # Errors
    /// [`CreateError::CapacityExceeded`] if fewer than two port slots are free.
    pub fn create_port_pair(&mut self) -> Result<(PortName, PortName), CreateError> {
        if self.ports.len().saturating_add(2) > PORTS {
            return Err(Failure::CapacityExceeded.into());
        }
        let a = self.create_uninitialized_port()?;
        let b = self.create_uninitialized_port()?;
        let me = self.name;
        // Both ports were just created uninitialized; the names are valid.
        let _ = self.initialize_port(a, me, b, me, b);
        let _ = self.initialize_port(b, me, a, me, a);
        Ok((a, b))
    }

    /// Sends `payload` with `attached` ports through `port`.
    ///
    /// On failure every attached port other than `port` is closed.
    ///
    /// # Errors
    /// [`SendError::PortUnknown`], [`SendError::StateUnexpected`] (not
    /// receiving, or an attached port is not receiving),
    /// [`SendError::PeerClosed`], [`SendError::CannotSendSelf`],
    /// [`SendError::CannotSendPeer`], [`SendError::CapacityExceeded`]
    /// (more than `A` attached ports), [`SendError::WouldBlock`] (the
    /// port's send window and waiting room are full after a peer change,
    /// or the peer is on this node and its queue or the node's message
    /// pool `MSGS` is full; nothing changed: deliver incoming events, read
    /// messages, and retry).
    pub fn send_user_message(
        &mut self,
        port: PortName,
        payload: P,
        attached: &[PortName],
    ) -> Result<(), SendError> {
        if self
            .port(port)
            .is_some_and(|p| p.state == PortState::Receiving)
            && self.would_block(port)
        {
            // Make sure an acknowledgement that ends the wait is coming.
            self.request_flow_ack(port);
            self.finish();
            return Err(SendError::from(Failure::WouldBlock));
        }
        let mut ports = Vec::new();
        let mut err = None;
        for n in attached {
            if ports.push((*n, PortDescriptor::default())).is_err() {
                err = Some(Failure::CapacityExceeded);
            }
        }
        let result = match err {
            Some(e) => Err(e),
            None => {
                let m = UserMessage {
                    seq: 0,
                    ports,
                    payload,
                };
                match self.prepare_to_forward(port, PortState::Receiving, false, m) {
                    Ok((to, ev)) => {
                        if let Some((to, ev)) = self.gate(port, to, ev) {
                            self.send(to, ev);
                        }
                        self.request_flow_ack(port);
                        Ok(())
                    }
                    Err((e, _)) => Err(e),
                }
            }
        };
        if result.is_err() {
            for n in attached {
                if *n != port {
                    let _ = self.close_internal(*n);
                }
            }
        }
        self.finish();
        result.map_err(SendError::from)
    }

    /// Takes the next in-order message from a receiving port, if any.
    ///
    /// # Errors
    /// [`GetMessageError::PortUnknown`], [`GetMessageError::StateUnexpected`],
    /// [`GetMessageError::PeerClosed`] once the peer is closed and every message
    /// it sent was read.
    pub fn get_message(
        &mut self,
        port: PortName,
    ) -> Result<Option<Message<P, A>>, GetMessageError> {
        let p = self.port(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Receiving {
            return Err(Failure::StateUnexpected.into());
        }
        if !self.can_accept_more(port) {
            return Err(Failure::PeerClosed.into());
        }
        let Some(k) = self.head(port) else {
            return Ok(None);
        };
        let (_, m) = self.msgs.swap_remove(k);
        let mut ack = false;
        if let Some(p) = self.port_mut(port) {
            p.queue_next_seq = p.queue_next_seq.saturating_add(1);
            if m.seq == p.seq_to_ack {
                p.seq_to_ack = 0;
                ack = true;
            }
        }
        if ack {
            self.forward_ctl(port, EventKind::ReadAck { seq: m.seq });
        }
        let mut names = Vec::new();
        for (n, _) in &m.ports {
            if let Some(q) = self.port_mut(*n) {
                q.signalable = true;
            }
            // `names` has the same capacity A as `m.ports`.
            let _ = names.push(*n);
        }
        self.finish();
        Ok(Some(Message {
            payload: m.payload,
            ports: names,
        }))
    }

    /// Status of a receiving port.
    ///
    /// # Errors
    /// [`PortError::PortUnknown`], [`PortError::StateUnexpected`].
    pub fn get_status(&self, port: PortName) -> Result<PortStatus, PortError> {
        let p = self.port(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Receiving {
            return Err(Failure::StateUnexpected.into());
        }
        let mut count = 0usize;
        let mut bytes = 0usize;
        for (o, m) in &self.msgs {
            if *o == port {
                count = count.saturating_add(1);
                bytes = bytes.saturating_add(m.payload.encoded_len());
            }
        }
        Ok(PortStatus {
            has_messages: self.head(port).is_some(),
            receiving_messages: self.can_accept_more(port),
            peer_closed: p.peer_closed,
            peer_remote: p.peer_node != self.name,
            queued_message_count: count,
            queued_num_bytes: bytes,
            unacknowledged_message_count: p
                .next_seq_send
                .saturating_sub(p.last_seq_ack)
                .saturating_sub(1),
        })
    }

    /// Closes a receiving (or uninitialized) port. Unread messages are
    /// discarded and the ports they carried closed.
    ///
    /// # Errors
    /// [`PortError::PortUnknown`], [`PortError::StateUnexpected`] for a
    /// proxy.
    pub fn close_port(&mut self, port: PortName) -> Result<(), PortError> {
        let r = self.close_internal(port);
        self.finish();
        r.map_err(PortError::from)
    }

    /// Whether the node may shut down under `policy`.
    pub fn can_shutdown_cleanly(&self, policy: ShutdownPolicy) -> bool {
        match policy {
            ShutdownPolicy::DontAllowLocalPorts => self.ports.is_empty(),
            ShutdownPolicy::AllowLocalPorts => self
                .ports
                .iter()
                .all(|p| p.peer_node == self.name || p.state == PortState::Receiving),
        }
    }

    pub(super) fn close_internal(&mut self, name: PortName) -> Result<(), Failure> {
        let p = self.port(name).ok_or(Failure::PortUnknown)?;
        match p.state {
            PortState::Uninitialized => {
                self.erase_port(name);
                Ok(())
            }
            PortState::Receiving => {
                let last = p.next_seq_send.saturating_sub(1);
                let lost = p.peer_lost;
                let stamped = self.stamp(name, EventKind::ObserveClosure { last_seq: last });
                let cause = stamped.as_ref().map_or(NodeName::INVALID, |(to, ev)| {
                    self.cause_of(name, *to, ev.port)
                });
                self.erase_port(name);
                if let Some((to, ev)) = stamped {
                    self.send_caused(to, ev, cause);
                }
                if lost {
                    // The route is broken by a node loss, so the closure
                    // cannot travel around it back to the proxies that still
                    // forward to this port (one may even have a previous
                    // peer that was never created). Announce the port's end
                    // like a dead proxy: every port whose peer it was learns.
                    self.broadcast_dead(name);
                    let me = self.name;
                    self.destroy_all_ports_with_peer(me, Some(name));
                }
                Ok(())
            }
            PortState::Buffering | PortState::Proxying => Err(Failure::StateUnexpected),
        }
    }
}
