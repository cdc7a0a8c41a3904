//! Helpers shared by the solo-sync tests: counting and hook wakers, a one-shot poll, a
//! drop-counting message and a small seeded PRNG.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts its wakes.
#[derive(Debug, Default)]
pub struct Count(AtomicUsize);

impl Count {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counting waker and its counter.
pub fn counter() -> (Waker, Arc<Count>) {
    let count = Arc::new(Count::default());
    (Waker::from(count.clone()), count)
}

/// Polls `fut` once with `waker`.
pub fn poll<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// Polls a pinned future once with `waker`.
pub fn poll_pin<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

thread_local! {
    static HOOKS: RefCell<HashMap<usize, Box<dyn FnMut()>>> = RefCell::new(HashMap::new());
    static NEXT_HOOK: Cell<usize> = const { Cell::new(0) };
}

/// A waker that runs a closure on this thread when woken (to test code that wakes from
/// inside its own operations: a hook may poll the woken future at once, as some executors
/// do, or touch the same channel or lock). Also counts its wakes.
pub struct Hook {
    id: usize,
    count: AtomicUsize,
}

impl Wake for Hook {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.count.fetch_add(1, Ordering::SeqCst);
        // Take the hook out while it runs: it may wake itself again.
        let hook = HOOKS.with(|h| h.borrow_mut().remove(&self.id));
        if let Some(mut hook) = hook {
            hook();
            HOOKS.with(|h| {
                h.borrow_mut().entry(self.id).or_insert(hook);
            });
        }
    }
}

impl Hook {
    pub fn get(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// A waker that runs `hook` when woken, and its wake counter.
pub fn hook_waker(hook: impl FnMut() + 'static) -> (Waker, Arc<Hook>) {
    let id = NEXT_HOOK.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    HOOKS.with(|h| h.borrow_mut().insert(id, Box::new(hook)));
    let hook = Arc::new(Hook {
        id,
        count: AtomicUsize::new(0),
    });
    (Waker::from(hook.clone()), hook)
}

/// A message that counts its drops (clones share the counter).
#[derive(Debug)]
pub struct Tracked {
    pub id: u64,
    drops: Rc<Cell<usize>>,
}

impl Tracked {
    pub fn new(id: u64, drops: &Rc<Cell<usize>>) -> Tracked {
        Tracked {
            id,
            drops: drops.clone(),
        }
    }
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked::new(self.id, &self.drops)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
    }
}

/// xorshift64*: a small seeded PRNG for property tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `Box::leak` for a value that must outlive the `'static` closures of hook wakers. The
/// allocation stays reachable from a global list, so LeakSanitizer (the ASan step of CI)
/// does not report this deliberate leak; it used to, depending on what the stack held.
pub fn leak<T: 'static>(value: T) -> &'static T {
    static KEPT: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());
    let leaked: &'static T = Box::leak(Box::new(value));
    // An address kept as an integer still counts as a reference for LeakSanitizer.
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(leaked as *const T as usize);
    leaked
}
