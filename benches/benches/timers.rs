//! Placeholder until the timers benchmark lands; see the matching issue.
fn main() {}
