//! solo-lite's `block_on` beside futures-lite's: a ready future, and a future that yields
//! 10,000 times (each yield is a wake, a `Pending` and a re-poll without parking).
//!
//! Run with `cargo bench -p solo-benches --bench lite`.

use std::hint::black_box;

use solo_benches::{compare, contender};

/// `block_on` calls per round of the ready-future group.
const CALLS: u64 = 10_000;
/// Yields inside one `block_on` in the yield group.
const YIELDS: u64 = 10_000;

fn main() {
    compare(
        "block_on-ready",
        CALLS,
        &mut [
            contender("solo", || {
                for i in 0..CALLS {
                    black_box(solo_lite::future::block_on(solo_lite::future::ready(
                        black_box(i),
                    )));
                }
            }),
            contender("futures-lite", || {
                for i in 0..CALLS {
                    black_box(futures_lite::future::block_on(futures_lite::future::ready(
                        black_box(i),
                    )));
                }
            }),
        ],
    );

    compare(
        "block_on-yield-10k",
        YIELDS,
        &mut [
            contender("solo", || {
                solo_lite::future::block_on(async {
                    for _ in 0..YIELDS {
                        solo_lite::future::yield_now().await;
                    }
                });
            }),
            contender("futures-lite", || {
                futures_lite::future::block_on(async {
                    for _ in 0..YIELDS {
                        futures_lite::future::yield_now().await;
                    }
                });
            }),
        ],
    );
}
