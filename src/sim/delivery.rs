//! Carrying a transmit over its link: MTU and partition checks, bandwidth
//! serialisation, seeded loss, duplication, latency, and reordering or FIFO
//! order.

use std::vec::Vec;

use super::queue::{CLASS_ARRIVAL, Event};
use super::{LinkConfig, NodeId, Sim, SimError, SimNode, Transmit, bump, link_key};
use crate::time::{Duration, Instant};

impl<N: SimNode> Sim<N> {
    /// Hands one transmit to its link (see [`LinkConfig`] for the order of
    /// random draws).
    pub(super) fn send(&mut self, from: NodeId, t: &Transmit) -> Result<(), SimError> {
        bump(&mut self.stats.sent);
        let to = t.to;
        let Some(&li) = self.link_index.get(&link_key(from, to)) else {
            bump(&mut self.stats.dropped_no_link);
            return Ok(());
        };
        let Some(cfg) = self.links.get(li).map(|l| l.config) else {
            bump(&mut self.stats.dropped_no_link);
            return Ok(());
        };
        if cfg.mtu.is_some_and(|m| t.payload.len() > m) {
            bump(&mut self.stats.dropped_mtu);
            return Ok(());
        }
        if self.blocked(from, to) {
            bump(&mut self.stats.dropped_partition);
            return Ok(());
        }
        let dir = usize::from(from > to);
        let depart = self.serialise(li, dir, &cfg, t.payload.len());
        if self.rng.chance_ppm(cfg.loss_ppm) {
            bump(&mut self.stats.dropped_loss);
            return Ok(());
        }
        let duplicate = self.rng.chance_ppm(cfg.duplicate_ppm);
        self.send_copy(li, dir, &cfg, depart, from, to, t.payload.clone())?;
        if duplicate {
            bump(&mut self.stats.duplicated);
            self.send_copy(li, dir, &cfg, depart, from, to, t.payload.clone())?;
        }
        Ok(())
    }

    /// When a message of `len` bytes has left the sender on a link with a
    /// bandwidth: messages queue behind each other per direction (no queue
    /// bound). The clock itself without a bandwidth.
    fn serialise(&mut self, li: usize, dir: usize, cfg: &LinkConfig, len: usize) -> Instant {
        let now = self.now;
        let Some(bw) = cfg.bandwidth.filter(|&b| b > 0) else {
            return now;
        };
        let Some(busy) = self
            .links
            .get_mut(li)
            .and_then(|l| l.busy_until.get_mut(dir))
        else {
            return now;
        };
        let bytes = u64::try_from(len).unwrap_or(u64::MAX);
        // ceil(len * 1e6 / bw) microseconds; bw > 0 so the division is defined.
        let micros = bytes
            .saturating_mul(1_000_000)
            .saturating_add(bw.saturating_sub(1))
            .checked_div(bw)
            .unwrap_or(u64::MAX);
        let depart = (*busy)
            .max(now)
            .saturating_add(Duration::from_micros(micros));
        *busy = depart;
        depart
    }

    #[allow(clippy::too_many_arguments)] // private; each argument is one fact of the copy
    fn send_copy(
        &mut self,
        li: usize,
        dir: usize,
        cfg: &LinkConfig,
        depart: Instant,
        from: NodeId,
        to: NodeId,
        payload: Vec<u8>,
    ) -> Result<(), SimError> {
        let lo = cfg.latency_min.as_micros();
        let hi = cfg.latency_max.as_micros().max(lo);
        let latency = Duration::from_micros(self.rng.range_inclusive(lo, hi));
        let mut at = depart.saturating_add(latency);
        if self.rng.chance_ppm(cfg.reorder_ppm) {
            let extra = self
                .rng
                .range_inclusive(1, cfg.reorder_delay.as_micros().max(1));
            at = at.saturating_add(Duration::from_micros(extra));
            bump(&mut self.stats.reordered);
        } else if let Some(fifo) = self.links.get_mut(li).and_then(|l| l.fifo.get_mut(dir)) {
            at = at.max(*fifo);
            *fifo = at;
        }
        self.push(at, CLASS_ARRIVAL, Event::Arrival { from, to, payload })?;
        bump(&mut self.stats.in_flight);
        Ok(())
    }
}
