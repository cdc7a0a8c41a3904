//! solo-poll: under construction (see the issue tracker).
