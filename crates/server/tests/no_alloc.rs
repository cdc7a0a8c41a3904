//! The common case allocates nothing: parsing a batch of pipelined GETs and writing their
//! responses into a buffer with room, counted by a global allocator.

// Clippy on windows-gnu asks for `const` on thread-local initializers that already are.
#![cfg_attr(windows, allow(clippy::missing_const_for_thread_local))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use solo_server::http::{self, Exchange, Limits, Parsed, Parser, response};

/// The system allocator, counting allocations made on the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counter is a thread-local `Cell` that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's `layout` is passed on as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn pipelined_gets_parse_and_answer_without_allocating() {
    let one = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\nConnection: keep-alive\r\n\r\n";
    let input = one.repeat(16);
    let limits = Limits::default();
    let mut parser = Parser::new();
    let mut out = Vec::with_capacity(16 * 256);
    let date = http::date::now();

    let before = allocations();
    let mut at = 0;
    let mut answered = 0;
    while let Ok(Parsed::Complete { request, consumed }) =
        parser.parse(&input.as_bytes()[at..], &limits)
    {
        at += consumed;
        answered += 1;
        assert!(response::plaintext(&mut out, &date, Exchange::of(&request)));
    }
    let after = allocations();

    assert_eq!((answered, at), (16, input.len()));
    assert_eq!(after - before, 0, "allocations while parsing and answering");
    // The counter does count.
    std::hint::black_box(Box::new(after));
    assert_eq!(allocations(), after + 1);
    assert_eq!(
        String::from_utf8_lossy(&out)
            .matches("Hello, World!")
            .count(),
        16
    );
}
