//! Placeholder until the fs benchmark lands; see the matching issue.
fn main() {}
