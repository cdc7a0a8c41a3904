//! A blocking job still *queued* at a `fork` (every pool thread busy) belongs to the
//! parent: it runs there, and in the child awaiting it panics, saying so, instead of
//! waiting forever for a thread the child does not have (or running it a second time).
//!
//! Its own test binary: the pool's thread limit is read from the environment once per
//! process, and this test needs it at 1.

#![cfg(unix)]

mod common;

use std::time::Duration;

use solo_io::{io_timeout, unblock};

const GUARD: Duration = Duration::from_secs(20);

#[test]
fn a_job_queued_at_the_fork_runs_in_the_parent_and_is_abandoned_in_the_child() {
    // SAFETY: `set_var` races only with other threads reading the environment: this
    // binary has one test, and it sets the variable before it starts any thread.
    unsafe { std::env::set_var("SOLO_BLOCKING_MAX_THREADS", "1") };
    common::block_on(async {
        let (started_tx, started) = std::sync::mpsc::channel();
        let running = unblock(move || {
            started_tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            7
        });
        started.recv().unwrap();
        // The pool's one thread is busy: this job waits in the queue across the fork.
        let queued = unblock(|| 9);
        let mut slot = Some(queued);
        let pid = common::fork_with(|| {
            let queued = slot.take().unwrap();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                solo_io::block_on(async { io_timeout(GUARD, async { Ok(queued.await) }).await })
            }));
            match outcome {
                Err(payload) => {
                    let message = payload.downcast_ref::<&str>().copied().unwrap_or("");
                    if !message.contains("forked") {
                        return Err(format!("unexpected panic: {message:?}"));
                    }
                }
                Ok(Ok(n)) => return Err(format!("the parent's queued job returned {n} here")),
                Ok(Err(e)) => return Err(format!("the queued job was not abandoned: {e}")),
            }
            // The child's pool works: its first job starts a thread of the child's own.
            let n = solo_io::block_on(async {
                io_timeout(GUARD, async { Ok(unblock(|| 5).await) }).await
            })
            .map_err(|e| format!("a new job: {e}"))?;
            if n != 5 {
                return Err(format!("a new job answered {n}"));
            }
            Ok(())
        });
        let queued = slot.take().unwrap();
        assert_eq!(
            io_timeout(GUARD, async { Ok(running.await) })
                .await
                .unwrap(),
            7
        );
        assert_eq!(
            io_timeout(GUARD, async { Ok(queued.await) }).await.unwrap(),
            9,
            "the parent runs its queued job"
        );
        assert_eq!(common::exit_code(pid).await, 0);
    });
}
