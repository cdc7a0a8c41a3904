//! The task state machine, bit by bit.
//!
//! Every task has two words in its header:
//!
//! - **`state`** (`Cell<u32>`): the bits below. It is read and written **only on the
//!   executor's owning thread**, with plain loads and stores. Every piece of code that touches
//!   it (`Task<T>`, the executor, a waker woken on the owning thread) runs on that thread:
//!   `Task<T>` and `LocalExecutor` are `!Send`, and a waker checks the thread before it looks
//!   at the state (a waker on another thread goes through the remote queue instead).
//! - **`refs`** (`AtomicUsize`): the only atomic. It counts [`REF`] per `Waker` that exists
//!   anywhere, plus one [`REF`] (the *local reference*) held on behalf of every owning-thread
//!   holder together, plus the [`REMOTE`] flag while the task sits in the remote queue. The
//!   allocation is freed when the word reaches zero, by whoever brings it there.
//!
//! # The state bits
//!
//! | bit | meaning |
//! |---|---|
//! | [`SCHEDULED`] | The task has been woken and will be polled. Without `RUNNING`: it is linked in the local run queue (exactly once). With `RUNNING`: it was woken during its own poll, and the runner appends it to the back of the queue when the poll returns. |
//! | [`RUNNING`] | A stack frame is using the slot: the future is being polled, or is being dropped. Nobody else may touch the future meanwhile; a cancel only sets `CLOSED` and leaves the drop to that frame. |
//! | [`COMPLETED`] | The future returned `Ready` (or panicked). Never cleared. |
//! | [`CLOSED`] | The future will never be polled again: the task was cancelled (its `Task` dropped or `cancel()`ed, or its executor dropped), or its output has been handed out or dropped. Never cleared. |
//! | [`HANDLE`] | The `Task<T>` handle exists (not dropped, not detached). |
//! | [`FUTURE`] | The slot holds the future, and the task is linked in the executor's list of unfinished tasks. |
//! | [`OUTPUT`] | The slot holds the output (`Ok(T)` or the panic payload) waiting for the handle. |
//! | `REPORTED` | (feature `metrics`) A poll of this task took longer than the long-poll threshold and was reported; later ones are only counted. Never cleared; not a claim. |
//!
//! [`FUTURE`] and [`OUTPUT`] say which member of the slot union is alive; they are never set
//! together, and neither is set once the slot is empty.
//!
//! # Claims and the local reference
//!
//! [`CLAIMS`] = `SCHEDULED | RUNNING | HANDLE | FUTURE | OUTPUT`. While any claim bit is set,
//! the task holds its local reference (one [`REF`] in `refs`), so a waker dropped on any
//! thread can never free a task whose future or output is alive: the allocation outlives the
//! run queue entry, the stack frame polling it, the handle and the executor's list. Whoever
//! clears the last claim bit releases the local reference (see `raw::release_local`).
//! Consequently, when `refs` reaches zero the slot is empty, and freeing the allocation runs
//! no user code; that is what makes it sound to free on another thread.
//!
//! # Legal transitions
//!
//! All on the owning thread; `a → b` lists only the bits that change.
//!
//! - **spawn**: `∅ → SCHEDULED | HANDLE | FUTURE`, pushed on the run queue.
//! - **wake** (owning thread): only when `FUTURE` is set and `CLOSED`, `SCHEDULED` are clear:
//!   `+SCHEDULED`; pushed on the run queue unless `RUNNING`. Otherwise a no-op, which is what
//!   makes waking a finished, cancelled or already queued task harmless.
//! - **wake** (another thread): sets [`REMOTE`] in `refs` (an atomic `fetch_or`); if it was
//!   clear, the task is pushed on the remote queue. The owning thread later drains that queue,
//!   applies the owning-thread wake above, and clears `REMOTE`.
//! - **pop** from the run queue (`SCHEDULED`, not `RUNNING`): if `FUTURE` is clear (the task
//!   was cancelled while queued), `-SCHEDULED` and nothing else. Otherwise
//!   `-SCHEDULED +RUNNING`, and the future is polled.
//! - **poll returned `Pending`**:
//!   - if `CLOSED` (cancelled during its own poll): `-FUTURE`, the future is dropped, then
//!     `-RUNNING -SCHEDULED`;
//!   - else if `SCHEDULED` (woken during the poll): `-RUNNING`, pushed on the back of the queue;
//!   - else `-RUNNING`.
//! - **poll returned `Ready` or panicked**: `-FUTURE`, the future is dropped in place,
//!   `+OUTPUT` (the output is written where the future was), `+COMPLETED`. If `HANDLE` is clear
//!   (detached, or the handle was dropped during this poll): `-OUTPUT +CLOSED` and the output is
//!   dropped (a panic is reported on stderr). Then `-RUNNING -SCHEDULED`, and the awaiter's
//!   waker, if any, is woken.
//! - **`Task` polled** with `OUTPUT`: `-OUTPUT +CLOSED`, the output is moved out.
//! - **`Task` dropped or `cancel()`ed**: with `OUTPUT`: `-OUTPUT +CLOSED`, the output is
//!   dropped. Else with `FUTURE` and not `CLOSED`: `+CLOSED`; and unless `RUNNING`,
//!   `+RUNNING -FUTURE`, the future is dropped, `-RUNNING`. Then `-HANDLE`.
//! - **`Task::detach`**: with `OUTPUT`: `-OUTPUT +CLOSED`, the output is dropped. Then
//!   `-HANDLE`; the future, if any, keeps running.
//! - **executor dropped**: every queued task `-SCHEDULED`; every unfinished task `+CLOSED`
//!   (all of them first, so wakes during the drops below are no-ops), then one by one
//!   `+RUNNING -FUTURE`, the future is dropped, `-RUNNING`, and the awaiter is woken.
//!
//! Invariants: `OUTPUT ⇒ COMPLETED ∧ HANDLE ∧ ¬FUTURE`; `FUTURE ⇒ ¬COMPLETED`;
//! `SCHEDULED ∧ ¬RUNNING ⇔` linked in the run queue; `FUTURE ⇔` linked in the list of
//! unfinished tasks; `COMPLETED` and `CLOSED` are never cleared; after `CLOSED` the future is
//! never polled again.

/// Woken: in the run queue, or (with [`RUNNING`]) to be re-queued after the current poll.
pub(crate) const SCHEDULED: u32 = 1 << 0;
/// A stack frame is polling or dropping the future.
pub(crate) const RUNNING: u32 = 1 << 1;
/// The future finished (returned `Ready` or panicked).
pub(crate) const COMPLETED: u32 = 1 << 2;
/// Cancelled, or the output was taken or dropped: the future is never polled again.
pub(crate) const CLOSED: u32 = 1 << 3;
/// The `Task<T>` handle exists.
pub(crate) const HANDLE: u32 = 1 << 4;
/// The slot holds the future; the task is in the list of unfinished tasks.
pub(crate) const FUTURE: u32 = 1 << 5;
/// The slot holds the output.
pub(crate) const OUTPUT: u32 = 1 << 6;
/// A long poll of this task has been reported (feature `metrics`): report once per task.
#[cfg(feature = "metrics")]
pub(crate) const REPORTED: u32 = 1 << 7;
/// Bits that keep the local reference alive.
pub(crate) const CLAIMS: u32 = SCHEDULED | RUNNING | HANDLE | FUTURE | OUTPUT;

/// `refs`: the flag set while the task is in the remote queue (it keeps the allocation alive
/// like a reference).
pub(crate) const REMOTE: usize = 1;
/// `refs`: one reference (a waker, or the local reference).
pub(crate) const REF: usize = 2;
