//! Running a simulation: commands and closures on nodes, stepping the
//! clock through arrivals, faults and timeouts, the `run_until*` loops, and
//! draining a node after each input into the trace.

use core::cmp::Reverse;
use std::vec::Vec;

use super::queue::Event;
use super::{NodeId, RunStats, Sim, SimError, SimNode, TraceEntry, TraceInput, bump};
use crate::time::Instant;

#[cfg(doc)]
use super::{SimConfig, replay};

impl<N: SimNode> Sim<N> {
    /// Gives `command` to node `id` now, then drains it. Recorded in the
    /// trace and replayable. Not a step.
    pub fn command(&mut self, id: NodeId, command: N::Command) -> Result<(), SimError> {
        self.start()?;
        let now = self.now;
        let node = self.up_node(id)?;
        node.handle_command(now, command.clone());
        bump(&mut self.stats.commands);
        self.after_input(id, TraceInput::Command(command), None)
    }

    /// Runs `f` on node `id` with the current time, then drains it. The
    /// trace records an opaque entry, which [`replay`] refuses: prefer
    /// [`Sim::command`] where replay matters. Not a step.
    pub fn with_node<R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut N, Instant) -> R,
    ) -> Result<R, SimError> {
        self.start()?;
        let now = self.now;
        let node = self.up_node(id)?;
        let r = f(node, now);
        self.after_input(id, TraceInput::Opaque, None)?;
        Ok(r)
    }

    /// Processes the earliest pending event. `Ok(false)` when nothing is
    /// pending (the simulation is quiet).
    pub fn step(&mut self) -> Result<bool, SimError> {
        self.start()?;
        let ev = self.queue.peek().map(|Reverse(q)| q.at);
        let tm = self.timers.first().copied();
        let take_event = match (ev, tm) {
            (None, None) => return Ok(false),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            // Faults and arrivals (classes 0, 1) precede timeouts (class 2).
            (Some(e), Some((t, _))) => e <= t,
        };
        bump(&mut self.stats.steps);
        if take_event {
            if let Some(Reverse(q)) = self.queue.pop() {
                self.now = self.now.max(q.at);
                self.stats.now = self.now;
                match q.event {
                    Event::Arrival { from, to, payload } => {
                        self.stats.in_flight = self.stats.in_flight.saturating_sub(1);
                        self.arrive(from, to, payload)?;
                    }
                    Event::Fault(f) => self.apply(f),
                }
            }
        } else if let Some((t, id)) = tm {
            self.now = self.now.max(t);
            self.stats.now = self.now;
            self.timers.remove(&(t, id));
            if let Some(d) = self.sched_deadline.get_mut(id.index()) {
                *d = None;
            }
            let fired = self.raw_deadline.get(id.index()).copied().flatten();
            let now = self.now;
            if let Some(node) = self.nodes.get_mut(id.index()) {
                node.handle_timeout(now);
                bump(&mut self.stats.timeouts);
                self.after_input(id, TraceInput::Timeout, fired)?;
            }
        }
        Ok(true)
    }

    /// Steps through every event up to and including time `t`, then sets the
    /// clock to `t` (if later). Fails with [`SimError::StepLimit`] after
    /// [`SimConfig::step_limit`] steps. Returns the cumulative counters.
    pub fn run_until(&mut self, t: Instant) -> Result<RunStats, SimError> {
        self.start()?;
        let mut steps = 0u64;
        while self.next_event_time().is_some_and(|e| e <= t) {
            if steps >= self.config.step_limit {
                return Err(self.step_limit(steps));
            }
            self.step()?;
            bump(&mut steps);
        }
        self.now = self.now.max(t);
        self.stats.now = self.now;
        Ok(self.stats)
    }

    /// Steps until nothing is pending ([`Sim::is_quiet`]). Fails with
    /// [`SimError::StepLimit`] if events are still pending after `max_steps`
    /// steps of this call; the simulation stays usable. Returns the
    /// cumulative counters.
    pub fn run_until_quiet(&mut self, max_steps: u64) -> Result<RunStats, SimError> {
        self.start()?;
        let mut steps = 0u64;
        while !self.is_quiet() {
            if steps >= max_steps {
                return Err(self.step_limit(steps));
            }
            self.step()?;
            bump(&mut steps);
        }
        Ok(self.stats)
    }

    /// Steps until `done(self)` holds (checked before every step, so an
    /// already true condition takes no step). `Ok(true)` when it holds,
    /// `Ok(false)` when the simulation went quiet first;
    /// [`SimError::StepLimit`] after `max_steps` steps of this call.
    ///
    /// ```ignore
    /// let ok = sim.run_until_condition(100_000, |s| s.node(b).is_some_and(|n| n.handshake_done()))?;
    /// ```
    pub fn run_until_condition(
        &mut self,
        max_steps: u64,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<bool, SimError> {
        self.start()?;
        let mut steps = 0u64;
        loop {
            if done(self) {
                return Ok(true);
            }
            if self.is_quiet() {
                return Ok(false);
            }
            if steps >= max_steps {
                return Err(self.step_limit(steps));
            }
            self.step()?;
            bump(&mut steps);
        }
    }

    fn step_limit(&self, steps: u64) -> SimError {
        SimError::StepLimit {
            steps,
            now: self.now,
            in_flight: self.stats.in_flight,
        }
    }

    /// First input of a run: drain every up node once (nodes may queue
    /// transmits and timers at construction) as a `Start` entry, in id order.
    fn start(&mut self) -> Result<(), SimError> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        for i in 0..self.nodes.len() {
            let id = NodeId::from_index(i);
            if !self.is_down(id) {
                self.after_input(id, TraceInput::Start, None)?;
            }
        }
        Ok(())
    }

    fn up_node(&mut self, id: NodeId) -> Result<&mut N, SimError> {
        if self.is_down(id) {
            return Err(SimError::NodeDown { node: id });
        }
        self.nodes
            .get_mut(id.index())
            .ok_or(SimError::UnknownNode { node: id })
    }

    /// Schedules node `id`'s timer at `raw` (clamped to the clock), replacing
    /// the previous one. `None` or [`Instant::MAX`] clears it.
    pub(super) fn set_timer(&mut self, id: NodeId, raw: Option<Instant>) {
        let Some(slot) = self.sched_deadline.get_mut(id.index()) else {
            return;
        };
        if let Some(old) = slot.take() {
            self.timers.remove(&(old, id));
        }
        let down = self.down.get(id.index()).copied().unwrap_or(true);
        if let Some(t) = raw.filter(|&t| t != Instant::MAX && !down) {
            let t = t.max(self.now);
            *slot = Some(t);
            self.timers.insert((t, id));
        }
    }

    fn arrive(&mut self, from: NodeId, to: NodeId, payload: Vec<u8>) -> Result<(), SimError> {
        if self.is_down(to) {
            bump(&mut self.stats.dropped_node_down);
            return Ok(());
        }
        if self.blocked(from, to) {
            bump(&mut self.stats.dropped_partition);
            return Ok(());
        }
        let now = self.now;
        let Some(node) = self.nodes.get_mut(to.index()) else {
            bump(&mut self.stats.dropped_no_link);
            return Ok(());
        };
        node.handle_message(now, from, &payload);
        bump(&mut self.stats.delivered);
        self.after_input(to, TraceInput::Message { from, payload }, None)
    }

    /// Drains node `id` after an input, records the entry, sends its
    /// transmits and refreshes its timer. `fired` is the deadline that fired
    /// when the input was a timeout (for the contract check).
    fn after_input(
        &mut self,
        id: NodeId,
        input: TraceInput<N::Command>,
        fired: Option<Instant>,
    ) -> Result<(), SimError> {
        let limit = self.config.max_transmits_per_input;
        let Some(node) = self.nodes.get_mut(id.index()) else {
            return Err(SimError::UnknownNode { node: id });
        };
        let mut outputs = Vec::new();
        while let Some(t) = node.poll_transmit() {
            if outputs.len() >= limit {
                return Err(SimError::TransmitFlood { node: id, limit });
            }
            outputs.push(t);
        }
        let next_timeout = node.poll_timeout();
        let entry = TraceEntry {
            at: self.now,
            node: id,
            input,
            outputs,
            next_timeout,
        };
        self.digest.entry(&entry);
        for t in &entry.outputs {
            self.send(id, t)?;
        }
        if self.config.record_trace {
            self.trace.push(entry);
        }
        if let Some(slot) = self.raw_deadline.get_mut(id.index()) {
            *slot = next_timeout;
        }
        if let (Some(deadline), Some(next)) = (fired, next_timeout)
            && next != Instant::MAX
            && next <= deadline
        {
            return Err(SimError::TimerNotAdvanced {
                node: id,
                deadline,
                next,
            });
        }
        self.set_timer(id, next_timeout);
        Ok(())
    }
}
