//! Placeholder until the io benchmark lands; see the matching issue.
fn main() {}
