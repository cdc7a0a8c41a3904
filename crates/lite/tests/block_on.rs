//! `block_on` allocates nothing in steady state: a counting global allocator proves it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::task::Poll;

use solo_lite::future::{self, block_on};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` unchanged; counting touches only a
// const-initialised thread-local without a destructor, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through `alloc` above, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn steady_state_block_on_does_not_allocate() {
    // Warm up: the first call on a thread creates the cached parker and waker.
    block_on(future::ready(()));
    let n = allocations_during(|| {
        for _ in 0..1_000 {
            assert_eq!(block_on(future::ready(5)), 5);
        }
        block_on(async {
            for _ in 0..1_000 {
                future::yield_now().await;
            }
        });
        let mut left = 100;
        block_on(future::poll_fn(|cx| {
            if left == 0 {
                return Poll::Ready(());
            }
            left -= 1;
            cx.waker().wake_by_ref(); // a wake while running parks nothing
            Poll::Pending
        }));
    });
    assert_eq!(n, 0, "block_on allocated {n} times");
}

#[test]
fn nested_block_on_allocates_its_own_parker() {
    block_on(future::ready(()));
    let n = allocations_during(|| {
        block_on(async { block_on(future::yield_now()) });
    });
    // The outer call uses the cache; the inner one needs a fresh parker (an `Arc`).
    assert!(n >= 1, "nested block_on should have created a parker");
}
