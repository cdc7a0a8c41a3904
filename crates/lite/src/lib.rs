//! solo-lite: under construction (see the issue tracker).
