//! solo-io: under construction (see the issue tracker).

mod blocking;
pub mod fs;
mod wheel;

#[doc(hidden)]
pub use blocking::testing as __blocking;
pub use blocking::{Unblock, Unblocked, unblock};
