//! A cross-thread channel for one value: the reply to "run this on shard k".
//!
//! ```
//! use std::thread;
//! use solo_lite::future::block_on;
//! use solo_sync::channel::cross::oneshot;
//!
//! let (tx, rx) = oneshot::channel();
//! thread::spawn(move || tx.send(6 * 7).unwrap());
//! assert_eq!(block_on(rx), Ok(42));
//! ```
//!
//! # Design
//!
//! One allocation holds a state word, the value and the receiver's waker. Every step is
//! one read-modify-write of the state, so whichever end acts second sees what the first
//! did:
//! - the sender writes the value, then sets `SENT`; if that finds `RX_GONE` it takes the
//!   value back and returns it; if it finds `RX_WAKER` it wakes the receiver;
//! - the receiver writes its waker only while `RX_WAKER` is clear (a sender reads the waker
//!   only after finding the bit set), then sets the bit; if that finds `SENT` or `TX_GONE`
//!   it completes at once instead of waiting;
//! - dropping the sender unsent sets `TX_GONE` (waking the receiver), dropping the receiver
//!   sets `RX_GONE`. A value sent and never taken is dropped with the allocation.

use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::channel::{RecvError, TryRecvError};
use crate::loom::atomic::{AtomicUsize, Ordering::*, load_mut};
use crate::loom::{Arc, UnsafeCell};

/// The value is written.
const SENT: usize = 1;
/// The sender was dropped without sending.
const TX_GONE: usize = 2;
/// The receiver was dropped.
const RX_GONE: usize = 4;
/// The receiver's waker is in the cell; the sender may read it.
const RX_WAKER: usize = 8;
/// The receiver took the value.
const TAKEN: usize = 16;

struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the value moves from the sending thread to the receiving one (`T: Send`) and is
// never shared; the state word hands each cell to one side at a time.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        let state = load_mut(&mut self.state);
        if state & SENT != 0 && state & TAKEN == 0 {
            // SAFETY: SENT says the value was written, TAKEN that nobody moved it out, and
            // `&mut self` that no end is left to touch it.
            self.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
        }
    }
}

/// Creates a channel for one value.
pub fn channel<T: Send>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(MaybeUninit::uninit()),
        waker: UnsafeCell::new(None),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

/// Sends the one value. Dropping it unsent makes the receiver fail with [`RecvError`].
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is gone.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a live sender holds the channel");
        // SAFETY: only the sender writes the value, once (`send` consumes it), and the
        // receiver reads it only after the SENT bit set below.
        inner.value.with_mut(|v| unsafe { (*v).write(value) });
        // Release publishes the value; Acquire sees the receiver's waker.
        let state = inner.state.fetch_or(SENT, AcqRel);
        if state & RX_GONE != 0 {
            // The receiver is gone and will not look: the value is ours again.
            inner.state.fetch_and(!SENT, Relaxed);
            // SAFETY: written just above; the receiver is gone, so nobody else reads it.
            return Err(inner.value.with(|v| unsafe { (*v).assume_init_read() }));
        }
        if state & RX_WAKER != 0 {
            wake(&inner);
        }
        Ok(())
    }

    /// Whether the receiver is gone: a send would hand the value back.
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|i| i.state.load(Acquire) & RX_GONE != 0)
    }
}

/// Wakes the receiver's stored waker. Only after an RMW that found RX_WAKER set.
fn wake<T>(inner: &Inner<T>) {
    // SAFETY: RX_WAKER was set when our RMW read the state, and the receiver writes the cell
    // only after an RMW of its own that clears the bit without finding SENT or TX_GONE,
    // which ours set first; so the cell is not written while we read it.
    inner.waker.with(|w| unsafe {
        if let Some(w) = &*w {
            w.wake_by_ref();
        }
    });
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let state = inner.state.fetch_or(TX_GONE, AcqRel);
            if state & RX_WAKER != 0 {
                wake(&inner);
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Receives the one value: a future of `Result<T, RecvError>`, which fails if the sender
/// is dropped without sending. Polling it again after it completed yields `Err`.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// The value, if it was sent; `Closed` if it never will be (or was already taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let state = self.inner.state.load(Acquire);
        if state & TAKEN != 0 {
            Err(TryRecvError::Closed)
        } else if state & SENT != 0 {
            Ok(self.take())
        } else if state & TX_GONE != 0 {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Moves the value out. Only after reading SENT (with Acquire) and not TAKEN.
    fn take(&mut self) -> T {
        // Relaxed: TAKEN is read by this receiver and by `Inner::drop`, which the `Arc`
        // orders after us.
        self.inner.state.fetch_or(TAKEN, Relaxed);
        // SAFETY: SENT was set (with Release) after the value was written, and TAKEN was
        // clear: the value is there and nobody else moves it out (the sender does only
        // when it found RX_GONE, i.e. without us).
        self.inner
            .value
            .with(|v| unsafe { (*v).assume_init_read() })
    }

    /// Completes if SENT or TX_GONE is in `state`.
    fn finish(&mut self, state: usize) -> Option<Result<T, RecvError>> {
        if state & SENT != 0 {
            Some(Ok(self.take()))
        } else if state & TX_GONE != 0 {
            Some(Err(RecvError))
        } else {
            None
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let state = this.inner.state.load(Acquire);
        if state & TAKEN != 0 {
            return Poll::Ready(Err(RecvError));
        }
        if let Some(done) = this.finish(state) {
            return Poll::Ready(done);
        }
        if state & RX_WAKER != 0 {
            // SAFETY: only this receiver writes the cell; a sender may be reading it at the
            // same time, which is fine for a read.
            let same = this
                .inner
                .waker
                .with(|w| unsafe { (*w).as_ref().is_some_and(|w| w.will_wake(cx.waker())) });
            if same {
                return Poll::Pending;
            }
            // Take the cell back from the sender before writing it.
            let state = this.inner.state.fetch_and(!RX_WAKER, AcqRel);
            if let Some(done) = this.finish(state) {
                return Poll::Ready(done);
            }
        }
        // SAFETY: RX_WAKER is clear and no sender RMW came before our last one (it would
        // have set SENT or TX_GONE, which we checked), so no sender reads the cell now, and
        // none will before we set the bit again.
        this.inner
            .waker
            .with_mut(|w| unsafe { *w = Some(cx.waker().clone()) });
        let state = this.inner.state.fetch_or(RX_WAKER, AcqRel);
        match this.finish(state) {
            Some(done) => Poll::Ready(done),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.inner.state.fetch_or(RX_GONE, AcqRel);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
