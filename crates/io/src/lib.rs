//! solo-io: under construction (see the issue tracker).

mod wheel;
