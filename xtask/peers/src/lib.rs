//! Peer servers for `cargo xtask bench` (under construction).
