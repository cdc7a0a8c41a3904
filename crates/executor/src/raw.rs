//! The task allocation: header, slot, vtables, reference counting and the waker.
//!
//! One allocation per task, laid out as [`TaskCell<F, T>`]: a [`Header`] that does not depend
//! on the future's type, followed by a union that holds first the future and then its output.
//! Everything the executor does to a task that needs `F` or `T` goes through the header's
//! [`TaskVTable`]; everything else works on `NonNull<Header>`.
//!
//! Pointers are passed as `NonNull<Header>` rather than `&Header`, and references to header
//! fields are kept short-lived, because a task may be freed in the middle of a function that
//! works on it (the last claim is released): a reference argument would outlive its referent.

use std::alloc::{Layout, handle_alloc_error};
use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::mem::{ManuallyDrop, offset_of};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use crate::loom::alloc::{alloc, dealloc};
use crate::loom::sync::atomic::{AtomicUsize, Ordering};

use crate::shared::{Shared, current_thread};
use crate::state::{CLAIMS, COMPLETED, FUTURE, OUTPUT, REF, REMOTE};

/// A caught panic payload.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// The type-independent part of a task, at offset 0 of its allocation.
#[repr(C)]
pub(crate) struct Header {
    /// State bits (see [`crate::state`]); owning thread only.
    pub(crate) state: Cell<u32>,
    /// Reference count and the `REMOTE` flag (see [`crate::state`]); any thread.
    pub(crate) refs: AtomicUsize,
    /// Operations that need the concrete future and output types. Immutable.
    pub(crate) vtable: &'static TaskVTable,
    /// The executor's shared state. Immutable. Kept alive by this task (one unit of
    /// `Shared::strong` per allocated task), so a waker that outlives the executor can still
    /// read it.
    pub(crate) shared: NonNull<Shared>,
    /// Next task in the local run queue; owning thread only.
    pub(crate) queue_next: Cell<Option<NonNull<Header>>>,
    /// Neighbours in the executor's list of unfinished tasks; owning thread only.
    pub(crate) live_prev: Cell<Option<NonNull<Header>>>,
    pub(crate) live_next: Cell<Option<NonNull<Header>>>,
    /// The waker of whoever awaits the `Task` handle; owning thread only.
    pub(crate) awaiter: Cell<Option<Waker>>,
    /// Where the task was spawned (`#[track_caller]`), named by the long-poll detector.
    /// Immutable.
    #[cfg(feature = "metrics")]
    pub(crate) location: &'static std::panic::Location<'static>,
    /// Loom's check that every use through a waker happens before the free.
    #[cfg(loom)]
    pub(crate) probe: crate::loom::Probe,
}

/// Operations on a task that depend on its future type `F` and output type `T`.
pub(crate) struct TaskVTable {
    /// Polls the future. On `Ready` (or a panic) drops the future, writes the output into the
    /// slot, sets `OUTPUT | COMPLETED` and returns `true`. Never unwinds.
    pub(crate) poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> bool,
    /// Drops the future in place. May unwind (a panicking destructor).
    pub(crate) drop_future: unsafe fn(NonNull<Header>),
    /// Moves the output out of the slot and drops it; returns the payload if the task
    /// panicked. May unwind (a panicking destructor of `T`).
    pub(crate) drop_output: unsafe fn(NonNull<Header>) -> Option<Panic>,
    /// Layout of the whole allocation.
    pub(crate) layout: Layout,
    /// Byte offset of the slot (where the output lives) from the start of the allocation.
    pub(crate) output_offset: usize,
}

/// The whole allocation of a task.
#[repr(C)]
struct TaskCell<F, T> {
    header: Header,
    slot: Slot<F, T>,
}

/// The future, then (once it has finished) its output, in the same bytes.
#[repr(C)]
union Slot<F, T> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<T, Panic>>,
}

impl<F: Future<Output = T>, T> TaskCell<F, T> {
    const VTABLE: TaskVTable = TaskVTable {
        poll: Self::poll,
        drop_future: Self::drop_future,
        drop_output: Self::drop_output,
        layout: Layout::new::<Self>(),
        output_offset: offset_of!(Self, slot),
    };

    /// # Safety
    ///
    /// `ptr` is a live task of this type whose slot holds the future (`FUTURE`), called on
    /// the owning thread by the frame that set `RUNNING`.
    unsafe fn poll(ptr: NonNull<Header>, cx: &mut Context<'_>) -> bool {
        let cell = ptr.cast::<Self>().as_ptr();
        // SAFETY: `ptr` points to a live `TaskCell<F, T>` (caller); taking a raw pointer to a
        // field creates no reference. The union is `repr(C)`, so `future` is at offset 0 of
        // the slot, and `ManuallyDrop<F>` is `repr(transparent)` over `F`.
        let fut = unsafe { (&raw mut (*cell).slot).cast::<F>() };
        let polled = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the slot holds the future (`FUTURE`), and the `RUNNING` claim gives this
            // frame exclusive use of it: nobody else polls, moves or drops it meanwhile. The
            // future lives in a heap allocation that is never moved and is dropped in place
            // before the memory is reused, so pinning it is sound.
            unsafe { Pin::new_unchecked(&mut *fut) }.poll(cx)
        }));
        let output = match polled {
            Ok(Poll::Pending) => return false,
            Ok(Poll::Ready(value)) => {
                // SAFETY: live task on the owning thread (caller).
                unsafe { retire(ptr) };
                // SAFETY: the future is alive and exclusively ours (`RUNNING`); it has returned
                // `Ready`, so dropping it in place now is its end of life. It is never touched
                // again: `FUTURE` is cleared.
                match catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(fut) })) {
                    Ok(()) => Ok(value),
                    Err(payload) => {
                        // The destructor panicked: the task counts as panicked.
                        drop_caught("the output of a task whose destructor panicked", || {
                            drop(value)
                        });
                        Err(payload)
                    }
                }
            }
            Err(payload) => {
                // SAFETY: live task on the owning thread (caller).
                unsafe { retire(ptr) };
                // SAFETY: as above; a future that panicked is dropped and never polled again.
                let dropped = catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(fut) }));
                if let Err(second) = dropped {
                    report_panic("the destructor of a panicked task", second);
                }
                Err(payload)
            }
        };
        // SAFETY: the future has been dropped, so the slot is free; the output member is at
        // offset 0 of the `repr(C)` union and `ManuallyDrop` is transparent.
        unsafe {
            (&raw mut (*cell).slot)
                .cast::<Result<T, Panic>>()
                .write(output)
        };
        // SAFETY: live task; `state` is only touched on the owning thread (caller).
        let state = unsafe { &(*ptr.as_ptr()).state };
        state.set(state.get() | OUTPUT | COMPLETED);
        true
    }

    /// # Safety
    ///
    /// `ptr` is a live task of this type whose slot holds the future, on the owning thread,
    /// by a frame with exclusive use of the slot (it set `RUNNING` and cleared `FUTURE`).
    unsafe fn drop_future(ptr: NonNull<Header>) {
        let cell = ptr.cast::<Self>().as_ptr();
        // SAFETY: the slot holds the future and the caller has exclusive use of it; the
        // future is dropped in place (it is pinned) and never touched again.
        unsafe { ptr::drop_in_place((&raw mut (*cell).slot).cast::<F>()) }
    }

    /// # Safety
    ///
    /// `ptr` is a live task of this type whose slot holds the output, on the owning thread;
    /// the caller has cleared `OUTPUT`, so nobody else reads it.
    unsafe fn drop_output(ptr: NonNull<Header>) -> Option<Panic> {
        let cell = ptr.cast::<Self>().as_ptr();
        // SAFETY: the slot holds an initialised output, and clearing `OUTPUT` (caller) made
        // this the only read of it, so moving it out does not duplicate it.
        let output = unsafe { (&raw mut (*cell).slot).cast::<Result<T, Panic>>().read() };
        output.err()
    }
}

/// Allocates a task holding `future`, with state `initial`, one local reference, and linked
/// to nothing yet.
pub(crate) fn allocate<F, T>(
    future: F,
    shared: NonNull<Shared>,
    initial: u32,
    #[cfg(feature = "metrics")] location: &'static std::panic::Location<'static>,
) -> NonNull<Header>
where
    F: Future<Output = T>,
{
    let layout = Layout::new::<TaskCell<F, T>>();
    // SAFETY: `TaskCell` contains a `Header`, so its layout has a non-zero size.
    let raw = unsafe { alloc(layout) }.cast::<TaskCell<F, T>>();
    let Some(cell) = NonNull::new(raw) else {
        handle_alloc_error(layout)
    };
    let cell = cell.as_ptr();
    // SAFETY: `cell` is a fresh allocation with the layout of `TaskCell<F, T>`; both writes go
    // to in-bounds, properly aligned fields of it, and write each exactly once.
    unsafe {
        (&raw mut (*cell).header).write(Header {
            state: Cell::new(initial),
            refs: AtomicUsize::new(REF),
            vtable: &TaskCell::<F, T>::VTABLE,
            shared,
            queue_next: Cell::new(None),
            live_prev: Cell::new(None),
            live_next: Cell::new(None),
            awaiter: Cell::new(None),
            #[cfg(feature = "metrics")]
            location,
            #[cfg(loom)]
            probe: crate::loom::Probe::new(),
        });
        (&raw mut (*cell).slot).cast::<F>().write(future);
    }
    // SAFETY: non-null (checked above); the header is at offset 0 of the `repr(C)` cell, and
    // the pointer keeps the provenance of the whole allocation.
    unsafe { NonNull::new_unchecked(cell.cast::<Header>()) }
}

/// Reads a `Result<T, Panic>` output out of the slot.
///
/// # Safety
///
/// `ptr` is a live task whose output type is `T`, whose slot holds the output, and whose
/// `OUTPUT` bit the caller has just cleared (on the owning thread).
pub(crate) unsafe fn take_output<T>(ptr: NonNull<Header>) -> Result<T, Panic> {
    // SAFETY: the caller guarantees a live task; `vtable` is immutable.
    let offset = unsafe { (*ptr.as_ptr()).vtable.output_offset };
    // SAFETY: `output_offset` is the offset of the slot in this task's own `TaskCell<F, T>`,
    // so the pointer stays in bounds of the allocation (whose provenance `ptr` carries); the
    // output is at offset 0 of the `repr(C)` union, initialised, has type `Result<T, Panic>`
    // (the caller's `T` is the task's output type), and is read exactly once because the
    // caller cleared `OUTPUT`.
    unsafe {
        ptr.cast::<u8>()
            .add(offset)
            .cast::<Result<T, Panic>>()
            .read()
    }
}

/// Marks the future gone: clears `FUTURE` and unlinks the task from the executor's list of
/// unfinished tasks. Called right before the future is dropped.
///
/// # Safety
///
/// `ptr` is a live task with `FUTURE` set, on the owning thread, whose executor is alive
/// (every unfinished task's executor is: dropping the executor drops all futures).
pub(crate) unsafe fn retire(ptr: NonNull<Header>) {
    // SAFETY: live task on the owning thread (caller).
    let header = unsafe { ptr.as_ref() };
    debug_assert!(header.state.get() & FUTURE != 0);
    header.state.set(header.state.get() & !FUTURE);
    // SAFETY: a task with a future keeps its `Shared` alive, and we are on its owning thread.
    unsafe { header.shared.as_ref() }.unlink(ptr);
}

/// Releases the local reference if `state` (just stored) has no claim bit left.
///
/// # Safety
///
/// `ptr` is a live task on its owning thread, and `state` is its current state.
#[inline]
pub(crate) unsafe fn release_if_unclaimed(ptr: NonNull<Header>, state: u32) {
    if state & CLAIMS == 0 {
        // SAFETY: forwarded; the last claim has just been cleared, so the local reference is
        // still held and is released exactly once.
        unsafe { release_local(ptr) }
    }
}

/// Releases the local reference, freeing the task if no waker and no remote-queue entry
/// remain.
///
/// # Safety
///
/// `ptr` is a live task holding its local reference, on the owning thread, with no claim bit
/// set; the caller does not touch the task afterwards.
unsafe fn release_local(ptr: NonNull<Header>) {
    // SAFETY: the task is alive (we hold a reference); only the atomic field is touched.
    let refs = unsafe { &(*ptr.as_ptr()).refs };
    // Fast path: if ours is the only reference, no other thread can hold or create one
    // (creating a reference needs an existing one), so no read-modify-write is needed.
    // `Acquire` pairs with the (release) decrement of any waker dropped elsewhere.
    if refs.load(Ordering::Acquire) == REF || refs.fetch_sub(REF, Ordering::AcqRel) == REF {
        // SAFETY: the count reached zero with our release; nobody else can reach the task.
        unsafe { free(ptr) }
    }
}

/// Clears the `REMOTE` flag after the task has been taken out of the remote queue, freeing
/// it if that was all that kept it alive.
///
/// # Safety
///
/// `ptr` is a live task with `REMOTE` set, taken out of the remote queue by the caller; the
/// caller does not touch the task afterwards.
pub(crate) unsafe fn clear_remote(ptr: NonNull<Header>) {
    // SAFETY: the `REMOTE` flag keeps the allocation alive until this operation.
    let refs = unsafe { &(*ptr.as_ptr()).refs };
    // `AcqRel`: acquire the writes of every thread whose wake was coalesced into this entry
    // (their `fetch_or` released them), and order our use of the task before a free elsewhere.
    if refs.fetch_and(!REMOTE, Ordering::AcqRel) == REMOTE {
        // SAFETY: no reference and no flag remain; we are the last user.
        unsafe { free(ptr) }
    }
}

/// Frees a task whose `refs` has reached zero. Runs no user code: with no claim left, the
/// slot is empty (see [`crate::state`]).
///
/// # Safety
///
/// `refs` of `ptr` has reached zero, after an `Acquire` that synchronises with every earlier
/// use of the task on any thread. May run on any thread.
unsafe fn free(ptr: NonNull<Header>) {
    let header = ptr.as_ptr();
    // SAFETY: we have exclusive access (count zero). The fields are immutable.
    let (shared, layout) = unsafe { ((*header).shared, (*header).vtable.layout) };
    debug_assert!(
        // SAFETY: exclusive access (count zero), so reading the cell cannot race.
        unsafe { (*header).state.get() } & CLAIMS == 0,
        "freeing a task with a live claim"
    );
    // SAFETY: exclusive access (count zero).
    #[cfg(loom)]
    unsafe { &(*header).probe }.freed();
    // SAFETY: exclusive access. Dropping the header drops only `awaiter`, which is `None` by
    // now (it is taken whenever the handle goes away) and is a `Send` waker anyway; the slot
    // is empty, so nothing of `F` or `T` is dropped here, on whatever thread this is.
    unsafe { ptr::drop_in_place(header) };
    // SAFETY: allocated by `allocate` with this very layout (stored in the vtable).
    unsafe { dealloc(header.cast::<u8>(), layout) };
    // SAFETY: the task held one unit of `shared`'s count, released exactly once here.
    unsafe { Shared::release_task_unit(shared) };
}

/// The waker of a task: data is the `NonNull<Header>`, and each `Waker` owns one [`REF`].
pub(crate) static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// Builds a waker for `ptr` **without** taking a reference; the caller must not drop it.
///
/// # Safety
///
/// The task stays alive while the returned waker (and anything borrowing it) is used.
pub(crate) unsafe fn borrowed_waker(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(ptr.as_ptr().cast_const().cast::<()>(), &WAKER_VTABLE);
    // SAFETY: `WAKER_VTABLE` upholds the `RawWaker` contract (each function below is sound on
    // any thread for a live task); the waker is never dropped, so it owns no reference, and
    // clones of it take their own.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    let ptr = data.cast::<Header>();
    // SAFETY: the waker keeps the task alive.
    #[cfg(loom)]
    unsafe { &(*ptr).probe }.used();
    // SAFETY: `data` comes from a waker of a live task (it owns or borrows a reference); only
    // the atomic field is touched, which is sound on any thread.
    let old = unsafe { &(*ptr).refs }.fetch_add(REF, Ordering::Relaxed);
    if old > isize::MAX as usize {
        // A leak of wakers this large would wrap the count: refuse, as `Arc` does.
        std::process::abort();
    }
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: same contract; the reference owned by this waker is released right after.
    unsafe {
        waker_wake_by_ref(data);
        waker_drop(data);
    }
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: a waker's data is a non-null task pointer.
    let ptr = unsafe { NonNull::new_unchecked(data.cast_mut().cast::<Header>()) };
    // SAFETY: the waker keeps the task alive.
    #[cfg(loom)]
    unsafe { &(*ptr.as_ptr()).probe }.used();
    // SAFETY: the task is alive (the waker holds or borrows a reference). `shared` is an
    // immutable field, and the task keeps its `Shared` alive.
    let shared = unsafe { (*ptr.as_ptr()).shared };
    // SAFETY: `owner` is immutable and `Shared` is alive.
    let owner = unsafe { (*shared.as_ptr()).owner };
    if owner == current_thread() {
        // SAFETY: on the owning thread: the local state may be touched; the task is alive.
        unsafe { shared.as_ref().schedule_local(ptr) }
    } else {
        // SAFETY: the task and its `Shared` are alive for the duration of the call.
        unsafe { Shared::schedule_remote(shared, ptr) }
    }
}

unsafe fn waker_drop(data: *const ()) {
    let ptr = data.cast::<Header>();
    // SAFETY: this waker owns one reference, so the task is alive until the decrement.
    #[cfg(loom)]
    unsafe { &(*ptr).probe }.used();
    // SAFETY: as above.
    let refs = unsafe { &(*ptr).refs };
    // `AcqRel`: release our uses of the task, and, if this is the last reference, acquire
    // everyone else's before freeing. (An `Acquire` fence after a `Release` decrement would
    // do, but ThreadSanitizer does not model fences; on x86 both are the same instruction.)
    if refs.fetch_sub(REF, Ordering::AcqRel) == REF {
        // SAFETY: the count reached zero: nobody else can reach the task.
        unsafe { free(NonNull::new_unchecked(ptr.cast_mut())) }
    }
}

/// Writes a panic report on stderr (never panics itself) and drops the payload, containing a
/// panic from the payload's own destructor.
pub(crate) fn report_panic(what: &str, payload: Panic) {
    use std::io::Write;
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    // One write, so that the line is not interleaved with other threads' output.
    let line = format!("solo-executor: {what} panicked: {message}\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    drop_payload(payload);
}

/// Drops a panic payload whose destructor might itself panic.
pub(crate) fn drop_payload(payload: Panic) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}

/// Runs `f` (a destructor or a wake), reporting instead of propagating a panic.
pub(crate) fn drop_caught(what: &str, f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        report_panic(what, payload);
    }
}

/// Whether a task's state says it has finished (completed or closed).
pub(crate) fn finished(state: u32) -> bool {
    state & (COMPLETED | crate::state::CLOSED) != 0
}

#[cfg(all(test, target_pointer_width = "64", not(loom)))]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "metrics"))]
    fn header_stays_small() {
        // state + refs + vtable + shared + 3 links + awaiter.
        assert_eq!(std::mem::size_of::<Header>(), 72);
        // An empty task: the header plus a 16-byte slot (the output `Result<(), Panic>`).
        type Empty = std::future::Ready<()>;
        assert_eq!(std::mem::size_of::<TaskCell<Empty, ()>>(), 88);
    }

    #[test]
    #[cfg(feature = "metrics")]
    fn the_spawn_location_costs_one_word() {
        assert_eq!(std::mem::size_of::<Header>(), 80);
    }
}
