//! Placeholder until the lite benchmark lands; see the matching issue.
fn main() {}
