//! Channels and locks for solo: the role `async-channel`, `async-lock` and
//! `event-listener` play in the smol stack, designed for one pinned thread per core.
//!
//! - [`channel`]: the **local** kinds ([`mpsc`](channel::mpsc), [`oneshot`](channel::oneshot),
//!   [`broadcast`](channel::broadcast), [`watch`](channel::watch)) are `!Send` and take no
//!   lock and no atomic read-modify-write: every end lives on one thread, the state is
//!   plain `Cell`s behind an `Rc`. The **cross-thread** kind ([`cross`](channel::cross)) is
//!   what shards talk through: a bounded queue whose senders work from any thread, with
//!   wakes coalesced per burst.
//! - [`lock`]: async locks for the tasks of one thread ([`Mutex`](lock::Mutex),
//!   [`RwLock`](lock::RwLock), [`Semaphore`](lock::Semaphore), [`Notify`](lock::Notify),
//!   [`Barrier`](lock::Barrier)), fair (FIFO) and cancellation-safe.
//!
//! The crate depends on no runtime: everything is built on [`Waker`](std::task::Waker)s, so
//! any executor can drive it. `solo` re-exports it as `solo::channel` and `solo::lock`.

#![deny(clippy::undocumented_unsafe_blocks, unsafe_op_in_unsafe_fn)]

pub mod channel;
pub mod lock;
mod loom;
mod waiters;
