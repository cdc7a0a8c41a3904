//! Placeholder until the executor benchmark lands; see the matching issue.
fn main() {}
