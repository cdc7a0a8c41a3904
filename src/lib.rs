//! solo: a small async runtime for one pinned thread.
//!
//! The umbrella crate; it joins `solo-executor` and `solo-io` on the current thread.
