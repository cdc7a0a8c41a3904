//! The shard mesh: messages between shards, broadcasts, closures run on another shard,
//! and what happens when a shard stops.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use solo::channel::TrySendError;
use solo::shard::{Shard, Stopped};

#[test]
fn a_token_goes_round_the_ring() {
    const SHARDS: usize = 4;
    const LAST: u64 = 100 * SHARDS as u64 - 1;
    const STOP: u64 = u64::MAX;
    let out = solo::shards(SHARDS, |mut shard: Shard<u64>| async move {
        let next = (shard.id() + 1) % shard.count();
        if shard.id() == 0 {
            shard.mesh().send_to(next, 0).await.unwrap();
        }
        let mut seen = Vec::new();
        loop {
            match shard.recv().await.expect("the mesh stays open") {
                STOP => break,
                LAST => {
                    seen.push(LAST);
                    for to in (0..shard.count()).filter(|&to| to != shard.id()) {
                        shard.mesh().send_to(to, STOP).await.unwrap();
                    }
                    break;
                }
                token => {
                    seen.push(token);
                    shard.mesh().send_to(next, token + 1).await.unwrap();
                }
            }
        }
        seen
    })
    .unwrap();
    for (i, seen) in out.iter().enumerate() {
        // Shard 0 hands token 0 to shard 1: token `t` visits shard `(t + 1) % SHARDS`.
        let expected: Vec<u64> = (0..=LAST)
            .filter(|t| (t + 1) % SHARDS as u64 == i as u64)
            .collect();
        assert_eq!(seen, &expected, "shard {i}");
    }
}

#[test]
fn every_message_arrives_once_in_the_order_of_its_sender() {
    const EACH: usize = 5000;
    let out = solo::shards(3, |mut shard: Shard<(usize, usize)>| async move {
        let mesh = shard.mesh().clone();
        // Every shard floods every shard, itself included, while receiving.
        let sender = solo::spawn(async move {
            for k in 0..EACH {
                for to in 0..mesh.count() {
                    mesh.send_to(to, (mesh.id(), k)).await.unwrap();
                }
            }
        });
        let mut next = vec![0; shard.count()];
        let mut batch = Vec::new();
        let mut received = 0;
        while received < EACH * shard.count() {
            let n = shard.recv_many(&mut batch, 64).await;
            assert!(n > 0 && n <= 64);
            for (from, k) in batch.drain(..) {
                assert_eq!(k, next[from], "from shard {from}");
                next[from] += 1;
                received += 1;
            }
        }
        sender.await;
        assert!(shard.try_recv().is_err());
        next
    })
    .unwrap();
    assert!(out.iter().all(|next| next.iter().all(|&n| n == EACH)));
}

#[test]
fn broadcast_reaches_every_shard() {
    let out = solo::shards(3, |mut shard: Shard<Arc<str>>| async move {
        let reached = shard
            .mesh()
            .broadcast(format!("hello from {}", shard.id()).into())
            .await;
        assert_eq!(reached, 3);
        let mut got = Vec::new();
        for _ in 0..3 {
            got.push(shard.recv().await.unwrap().to_string());
        }
        got.sort();
        got
    })
    .unwrap();
    for got in out {
        assert_eq!(got, ["hello from 0", "hello from 1", "hello from 2"]);
    }
}

thread_local! {
    static NAME: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

#[test]
fn submit_to_runs_on_the_target_shard() {
    let out = solo::shards(3, |shard: Shard<()>| async move {
        NAME.with_borrow_mut(|n| *n = format!("shard {}", shard.id()));
        // Each shard asks every shard (itself included) who it is, from a task.
        let mesh = shard.mesh().clone();
        let asked = solo::spawn(async move {
            let mut names = Vec::new();
            for to in 0..mesh.count() {
                names.push(mesh.submit_to(to, || NAME.with_borrow(String::clone)).await);
            }
            names
        })
        .await;
        // Stay up until every shard has been answered by everyone.
        solo::Timer::after(Duration::from_millis(200)).await;
        asked
    })
    .unwrap();
    for names in out {
        assert_eq!(
            names,
            [
                Ok("shard 0".to_string()),
                Ok("shard 1".into()),
                Ok("shard 2".into())
            ]
        );
    }
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[test]
fn a_panic_in_a_submitted_closure_reaches_the_submitter() {
    // Shard 1 stays up until shard 0 is done with it (not for a fixed time: a slow machine,
    // or Wine printing the panic's backtrace, can take longer than any guess).
    let done = Arc::new(AtomicBool::new(false));
    let out = solo::shards(2, move |shard: Shard<()>| {
        let done = done.clone();
        async move {
            if shard.id() == 1 {
                // Shard 1 runs the closure, and keeps running afterwards.
                while !done.load(Ordering::Acquire) {
                    solo::Timer::after(Duration::from_millis(5)).await;
                }
                return shard.mesh().submit_to(1, || 7).await.ok();
            }
            // Set when shard 0 ends, even by a failed assertion (shard 1 must not wait on).
            let _done = SetOnDrop(done);
            let mesh = shard.mesh().clone();
            let caught = solo::spawn(async move {
                mesh.submit_to(1, || -> u32 { panic!("boom on shard 1") })
                    .await
            });
            let panic = std::panic::AssertUnwindSafe(caught);
            let result = solo::future::catch_unwind(panic).await;
            let message = result.expect_err("the panic is resumed in the submitter");
            assert_eq!(message.downcast_ref::<&str>(), Some(&"boom on shard 1"));
            // The target shard's runner survives: it answers the next one.
            shard.mesh().submit_to(1, || 42).await.ok()
        }
    })
    .unwrap();
    assert_eq!(out, [Some(42), Some(7)]);
}

#[test]
fn a_stopped_shard_refuses_messages_and_closures() {
    let out = solo::shards(2, |shard: Shard<String>| async move {
        if shard.id() == 1 {
            return None; // Stops at once: its inbox closes, its thread ends.
        }
        let mesh = shard.mesh().clone();
        // Wait until shard 1 is gone.
        loop {
            match mesh.try_send_to(1, "ping".into()) {
                Err(TrySendError::Closed(message)) => {
                    assert_eq!(message, "ping");
                    break;
                }
                Ok(()) | Err(TrySendError::Full(_)) => {
                    solo::Timer::after(Duration::from_millis(5)).await;
                }
            }
        }
        let back = mesh.send_to(1, "hello".into()).await.unwrap_err();
        assert_eq!(back.into_inner(), "hello");
        Some(mesh.submit_to(1, || 1).await)
    })
    .unwrap();
    assert_eq!(out, [Some(Err(Stopped)), None]);
}

#[test]
fn a_full_inbox_says_so_and_waits() {
    let out = solo::shards(2, |mut shard: Shard<usize>| async move {
        if shard.id() == 0 {
            let mut sent = 0;
            while shard.mesh().try_send_to(1, sent).is_ok() {
                sent += 1;
            }
            assert_eq!(sent, solo::shard::INBOX_CAPACITY);
            // Waits until shard 1 reads.
            shard.mesh().send_to(1, usize::MAX).await.unwrap();
            return sent + 1;
        }
        // Shard 1 reads nothing until its inbox is full.
        solo::Timer::after(Duration::from_millis(100)).await;
        let mut got = 0;
        while shard.recv().await != Some(usize::MAX) {
            got += 1;
        }
        got + 1
    })
    .unwrap();
    assert_eq!(out[0], out[1]);
}

#[test]
fn a_single_shard_mesh_runs_on_the_calling_thread() {
    solo::block_on(async {
        let shard = Shard::<()>::single();
        assert_eq!((shard.id(), shard.count()), (0, 1));
        let here = std::thread::current().id();
        let there = shard
            .mesh()
            .submit_to(0, move || std::thread::current().id() == here)
            .await;
        assert_eq!(there, Ok(true));
    });
    solo::block_on(async {
        let mut shard = Shard::<u32>::single();
        shard.mesh().try_send_to(0, 5).unwrap();
        assert_eq!(shard.recv().await, Some(5));
        shard.close();
        assert!(shard.mesh().try_send_to(0, 6).unwrap_err().is_closed());
        assert_eq!(shard.recv().await, None);
    });
}

#[test]
fn plain_threads_send_into_a_shard() {
    let senders = Arc::new(AtomicUsize::new(0));
    let out = solo::shards(1, |mut shard: Shard<usize>| {
        let senders = senders.clone();
        async move {
            let mesh = shard.mesh().clone();
            let threads: Vec<_> = (0..3)
                .map(|t| {
                    let (mesh, senders) = (mesh.clone(), senders.clone());
                    std::thread::spawn(move || {
                        for k in 0..1000 {
                            solo::future::block_on(mesh.send_to(0, t * 1000 + k)).unwrap();
                        }
                        senders.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            let mut got = Vec::new();
            while got.len() < 3000 {
                got.push(shard.recv().await.unwrap());
            }
            for t in threads {
                t.join().unwrap();
            }
            got.sort_unstable();
            got
        }
    })
    .unwrap();
    assert_eq!(out[0], (0..3000).collect::<Vec<_>>());
    assert_eq!(senders.load(Ordering::SeqCst), 3);
}
