//! Read acknowledgements: the requested interval, ReadAckRequest and
//! ReadAck handling, re-sending both after a proxy is bypassed, and the
//! flow control built on them ([`crate::ports::Config::flow_control`]).

use rand_core::{CryptoRng, RngCore};

use super::Node;
use crate::ports::error::{Failure, PortError};
use crate::ports::event::{EventKind, Payload};
use crate::ports::name::PortName;
use crate::ports::port::PortState;

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
    /// Asks the conjugate to acknowledge reads every `interval` messages
    /// (0 = stop asking).
    ///
    /// # Errors
    /// [`PortError::PortUnknown`], [`PortError::StateUnexpected`].
    pub fn set_acknowledge_request_interval(
        &mut self,
        port: PortName,
        interval: u64,
    ) -> Result<(), PortError> {
        let p = self.port_mut(port).ok_or(Failure::PortUnknown)?;
        if p.state != PortState::Receiving {
            return Err(Failure::StateUnexpected.into());
        }
        p.ack_interval = interval;
        let seq = p.last_seq_ack.saturating_add(interval);
        if interval > 0 {
            self.forward_ctl(port, EventKind::ReadAckRequest { seq });
        }
        self.finish();
        Ok(())
    }

    pub(super) fn maybe_resend_ack_request(&mut self, port: PortName) {
        let Some(p) = self.port_mut(port) else { return };
        if p.state == PortState::Receiving && p.ack_interval > 0 {
            let seq = p.last_seq_ack.saturating_add(p.ack_interval);
            self.forward_ctl(port, EventKind::ReadAckRequest { seq });
        }
        // The flow-control request may have gone to the proxy just
        // bypassed: ask again.
        if let Some(p) = self.port_mut(port) {
            p.fc_requested = 0;
        }
        self.request_flow_ack(port);
    }

    /// Messages `port` sent that its conjugate has not acknowledged reading.
    pub(super) fn unacked(&self, port: PortName) -> u64 {
        self.port(port).map_or(0, |p| {
            p.next_seq_send
                .saturating_sub(p.last_seq_ack)
                .saturating_sub(1)
        })
    }

    /// Flow control: whether `port` must not send now because
    /// `max_queued_per_port` of its messages are unacknowledged.
    pub(super) fn flow_blocked(&self, port: PortName) -> bool {
        self.config.flow_control && self.unacked(port) >= self.flow_window()
    }

    fn flow_window(&self) -> u64 {
        u64::try_from(self.config.max_queued_per_port.max(1)).unwrap_or(u64::MAX)
    }

    /// Flow control: once half the window is unacknowledged and no request
    /// is outstanding, ask the conjugate to acknowledge reading up to half
    /// a window past the last acknowledgement (it answers at once with what
    /// it has read if that is further).
    pub(super) fn request_flow_ack(&mut self, port: PortName) {
        if !self.config.flow_control {
            return;
        }
        let half = (self.flow_window() / 2).max(1);
        let unacked = self.unacked(port);
        let Some(p) = self.port_mut(port) else { return };
        if p.state != PortState::Receiving
            || p.peer_closed
            || p.fc_requested > p.last_seq_ack
            || unacked < half
        {
            return;
        }
        let seq = p.last_seq_ack.saturating_add(half);
        p.fc_requested = seq;
        self.forward_ctl(port, EventKind::ReadAckRequest { seq });
    }

    pub(super) fn maybe_resend_ack(&mut self, port: PortName) {
        let Some(p) = self.port(port) else { return };
        let read = p.queue_next_seq.saturating_sub(1);
        if p.state == PortState::Receiving && p.seq_to_ack != 0 && read > 0 {
            self.forward_ctl(port, EventKind::ReadAck { seq: read });
        }
    }

    pub(super) fn on_read_ack_request(&mut self, target: PortName, seq: u64) {
        let Some(p) = self.port_mut(target) else {
            return;
        };
        if matches!(p.state, PortState::Proxying | PortState::Buffering) {
            // The request is for the receiving end this port stands for (a
            // port being sent stands for its new port, where the reading
            // goes on): pass it on. Answered here, the answer would go the
            // way this port now sends, to the new port, which would take it
            // for an acknowledgement of what *it* sent.
            self.forward_ctl(target, EventKind::ReadAckRequest { seq });
            return;
        }
        let cur = p.queue_next_seq.saturating_sub(1);
        if cur >= seq {
            self.forward_ctl(target, EventKind::ReadAck { seq: cur });
        } else if p.seq_to_ack == 0 || seq < p.seq_to_ack {
            p.seq_to_ack = seq;
        }
    }

    pub(super) fn on_read_ack(&mut self, target: PortName, seq: u64) {
        let Some(p) = self.port_mut(target) else {
            return;
        };
        if matches!(p.state, PortState::Proxying | PortState::Buffering) {
            // The acknowledgement is for the sending end this proxy stands
            // for (its conjugate still points here): pass it on.
            self.forward_ctl(target, EventKind::ReadAck { seq });
            return;
        }
        if seq >= p.next_seq_send || seq <= p.last_seq_ack {
            self.stats.dropped_stale = self.stats.dropped_stale.saturating_add(1);
            return;
        }
        p.last_seq_ack = seq;
        let receiving = p.state == PortState::Receiving;
        if p.ack_interval > 0 && !p.peer_closed {
            let next = seq.saturating_add(p.ack_interval);
            self.forward_ctl(target, EventKind::ReadAckRequest { seq: next });
        }
        self.request_flow_ack(target);
        if receiving {
            self.status_changed(target);
        }
    }
}
