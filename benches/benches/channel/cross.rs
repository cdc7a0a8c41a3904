//! The cross-thread half of the channel benchmark; see `channel.rs`.
//!
//! Every contender is driven the same way: its futures run on `solo_lite::future::block_on`,
//! which parks the thread while a future is pending and is unparked by the waker, as an
//! executor's idle thread would be. Nothing busy-polls a channel. The producer's wait for
//! the end of a burst is outside the channels (an atomic counter the consumer bumps once
//! per burst) and is the same for all.

use std::hint::spin_loop;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use solo_benches::{compare, contender};
use solo_lite::future::block_on;

/// Slots per channel for the bursts: the largest burst fits without back-pressure.
const CAP: usize = 1024;
/// Round trips per ping-pong measurement.
const PING_PONGS: usize = 4_096;

/// The producer's core and the consumer's (the harness may have pinned the whole process
/// to one core: the threads are re-pinned apart).
const PRODUCER_CORE: usize = 0;
const CONSUMER_CORE: usize = 1;

/// A bounded multi-producer channel, as each contender spells it.
trait Channel: 'static {
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    async fn send(tx: &Self::Tx, v: usize);
    async fn recv(rx: &mut Self::Rx) -> Option<usize>;
}

struct Solo;
impl Channel for Solo {
    type Tx = solo_sync::channel::cross::Sender<usize>;
    type Rx = solo_sync::channel::cross::Receiver<usize>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        solo_sync::channel::cross::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).await.expect("receiver alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await.ok()
    }
}

struct AsyncChannel;
impl Channel for AsyncChannel {
    type Tx = async_channel::Sender<usize>;
    type Rx = async_channel::Receiver<usize>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).await.expect("receiver alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await.ok()
    }
}

struct Flume;
impl Channel for Flume {
    type Tx = flume::Sender<usize>;
    type Rx = flume::Receiver<usize>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(cap)
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send_async(v).await.expect("receiver alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv_async().await.ok()
    }
}

struct Tokio;
impl Channel for Tokio {
    type Tx = tokio::sync::mpsc::Sender<usize>;
    type Rx = tokio::sync::mpsc::Receiver<usize>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap)
    }
    async fn send(tx: &Self::Tx, v: usize) {
        tx.send(v).await.expect("receiver alive");
    }
    async fn recv(rx: &mut Self::Rx) -> Option<usize> {
        rx.recv().await
    }
}

/// Pins the calling thread, if the machine has the core (numbers are still comparable
/// unpinned, only noisier).
fn pin(core: usize) {
    let _ = solo::pin_to_core(core);
}

/// Waits (spinning, then yielding) until `counter` reaches `target`.
fn wait_for(counter: &AtomicUsize, target: usize) {
    let mut spins = 0u32;
    while counter.load(Ordering::Acquire) < target {
        if spins < 10_000 {
            spins += 1;
            spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

/// `bursts` bursts of `burst` messages from this thread to a consumer thread.
fn bursts<C: Channel>(burst: usize, bursts: usize) {
    let (tx, mut rx) = C::bounded(CAP);
    let received = Arc::new(AtomicUsize::new(0));
    let consumer = {
        let received = received.clone();
        thread::spawn(move || {
            pin(CONSUMER_CORE);
            block_on(async {
                let mut n = 0;
                while C::recv(&mut rx).await.is_some() {
                    n += 1;
                    if n % burst == 0 {
                        received.store(n, Ordering::Release);
                    }
                }
            })
        })
    };
    block_on(async {
        for b in 1..=bursts {
            for i in 0..burst {
                C::send(&tx, i).await;
            }
            wait_for(&received, b * burst);
        }
    });
    drop(tx);
    consumer.join().expect("consumer");
}

/// `rounds` round trips: this thread sends, the echo thread sends back.
fn ping_pong<C: Channel>(rounds: usize) {
    let (to_echo, mut echo_in) = C::bounded(1);
    let (echo_out, mut back) = C::bounded(1);
    let echo = thread::spawn(move || {
        pin(CONSUMER_CORE);
        block_on(async {
            while let Some(v) = C::recv(&mut echo_in).await {
                C::send(&echo_out, v).await;
            }
        })
    });
    block_on(async {
        for i in 0..rounds {
            C::send(&to_echo, i).await;
            let v = C::recv(&mut back).await;
            debug_assert_eq!(v, Some(i));
        }
    });
    drop(to_echo);
    echo.join().expect("echo thread");
}

pub(crate) fn main() {
    pin(PRODUCER_CORE);
    // Messages per measurement: fewer where each costs a wake.
    for (burst, messages) in [(1, 4_096), (64, 65_536), (1_024, 131_072)] {
        let n = messages / burst;
        compare(
            &format!("channel/cross-burst-{burst}"),
            messages as u64,
            &mut [
                contender("solo", || bursts::<Solo>(burst, n)),
                contender("async-channel", || bursts::<AsyncChannel>(burst, n)),
                contender("flume", || bursts::<Flume>(burst, n)),
                contender("tokio-mpsc", || bursts::<Tokio>(burst, n)),
            ],
        );
    }
    compare(
        "channel/cross-ping-pong",
        PING_PONGS as u64,
        &mut [
            contender("solo", || ping_pong::<Solo>(PING_PONGS)),
            contender("async-channel", || ping_pong::<AsyncChannel>(PING_PONGS)),
            contender("flume", || ping_pong::<Flume>(PING_PONGS)),
            contender("tokio-mpsc", || ping_pong::<Tokio>(PING_PONGS)),
        ],
    );
}
