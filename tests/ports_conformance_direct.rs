//! The `ports_unittest.cc` scenarios of `ports_conformance`, run with the
//! direct-bypass extension (`Config::direct_bypass`): a proxy asks its
//! previous peer directly instead of sending ObserveProxy around the route.
#![cfg(feature = "sim")]

mod ports_common;

const DIRECT: bool = true;

include!("ports_common/conformance.rs");
