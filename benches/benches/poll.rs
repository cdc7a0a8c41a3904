//! Placeholder until the poll benchmark lands; see the matching issue.
fn main() {}
