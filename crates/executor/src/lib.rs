//! solo-executor: under construction (see the issue tracker).
