//! The scenarios of Chromium's `mojo/core/ports/ports_unittest.cc` (and
//! `name_unittest.cc`), re-expressed against `hyperport::ports` over the
//! deterministic simulator (`hyperport::sim`, harness in `ports_common`):
//! every event is encoded with the ports wire codec, carried as simulator
//! message bytes over FIFO links with seeded latencies, decoded at the
//! receiving node, and the decoded copy delivered. Each asserts what the
//! original asserts, including clean shutdown. Scenario descriptions come from
//! `/work/shared/reference/ports.md` section 2; no code was copied.
//!
//! This binary runs them with Chromium's proxy bypass (ObserveProxy around
//! the route); `ports_conformance_direct` runs the same scenarios with the
//! direct-bypass extension.
#![cfg(feature = "sim")]

mod ports_common;

const DIRECT: bool = false;

include!("ports_common/conformance.rs");
