//! Async locks for the tasks of one thread: fair (FIFO) and cancellation-safe.
//!
//! All of them are `!Send`: they coordinate tasks of one executor thread, so they need no
//! atomics and no OS lock. A waiter that is dropped before its turn (its future cancelled)
//! leaves the queue; one that was already handed the lock, a permit or a notification
//! passes it on to the next waiter, so nothing is ever lost.
