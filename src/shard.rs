//! Shard-per-core: one single-threaded runtime per core, and a mesh between them.
//!
//! [`shards`] starts the threads; each gets a [`Shard`]: its index, the count, its inbox
//! of typed messages, and a [`Mesh`] handle that reaches every shard: send a message to
//! one shard or to all, or run a closure on another shard and await its result
//! (Seastar's `submit_to`).
//!
//! # How messages travel
//!
//! Every shard has two bounded [`cross`] channels: an inbox of messages (`M`) that its
//! own code receives with [`Shard::recv`], and a queue of closures that a small task of
//! the runtime runs as they arrive. Every [`Mesh`] holds a sender of each. A message costs
//! one slot claim in the target's queue and, only when the target sleeps, one wake of its
//! thread; a burst of messages wakes it once. There is no lock on the path of a message:
//! each channel is a lock-free ring, and the senders are shared read-only.
//!
//! # When a shard stops
//!
//! A shard stops when its future returns; its thread then exits and drops its tasks.
//!
//! - Its inbox closes when its [`Shard`] is dropped: sending to it fails with the message
//!   handed back ([`SendError`], [`TrySendError::Closed`]), and messages queued but not
//!   received are dropped.
//! - Closures submitted to it and not yet run are dropped when its thread exits; their
//!   [`Mesh::submit_to`] futures resolve to [`Stopped`], as do later submissions.
//! - Other shards go on: a mesh has no global stop. A loop over [`Shard::recv`] ends on
//!   the application's own condition, since this shard's own [`Mesh`] keeps its inbox
//!   open.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Condvar, Mutex};

use solo_sync::channel::{RecvError, SendError, TryRecvError, TrySendError, cross};

use crate::{block_on, pin_to_core};

/// Messages a shard's inbox holds before senders wait (or `try_send_to` says `Full`).
pub const INBOX_CAPACITY: usize = 1024;

/// Closures waiting to run on a shard before submitters wait.
const JOBS_CAPACITY: usize = 256;

/// A closure sent to run on another shard.
type Job = Box<dyn FnOnce() + Send>;

/// What a panicking closure left behind, carried back to its submitter.
type Panic = Box<dyn Any + Send>;

/// Runs `n` runtimes, one per thread, each pinned to a core where the OS allows (shard
/// `i` on core `i % cores`), joined by a mesh, and returns their outputs in shard order.
///
/// `make` is called on shard `i`'s own thread with its [`Shard`] handle, so the future
/// need not be `Send`, and its tasks, sockets and timers stay on that thread. Servers
/// bind one listener per shard with
/// [`TcpListener::bind_reuseport`](crate::net::TcpListener::bind_reuseport) and let the
/// kernel spread connections (Node's cluster, without the processes); the shards talk
/// through [`Shard::recv`] and the [`Mesh`]. `M` is the type of the messages they send
/// each other (`()` when they send none).
///
/// Threads are started first and run `make` only once all have started: if one cannot be
/// started, none runs and the error is returned. A panic in a shard is resumed here after
/// the other shards finished.
///
/// # Examples
///
/// ```
/// use solo::shard::Shard;
///
/// // Shard 0 sums what the others send it.
/// let out = solo::shards(3, |mut shard: Shard<usize>| async move {
///     if shard.id() == 0 {
///         let mut sum = 0;
///         for _ in 1..shard.count() {
///             sum += shard.recv().await.unwrap();
///         }
///         sum
///     } else {
///         shard.mesh().send_to(0, shard.id() * 10).await.unwrap();
///         0
///     }
/// })
/// .unwrap();
/// assert_eq!(out, [30, 0, 0]);
/// ```
pub fn shards<M, F, Fut>(n: usize, make: F) -> io::Result<Vec<Fut::Output>>
where
    M: Send + 'static,
    F: Fn(Shard<M>) -> Fut + Sync,
    Fut: Future,
    Fut::Output: Send,
{
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    // Each thread takes its own ends out of its slot.
    let ends: Vec<Mutex<Option<Ends<M>>>> =
        mesh(n).into_iter().map(|e| Mutex::new(Some(e))).collect();
    // `None` until every thread started; then whether to go ahead.
    let start = (Mutex::new(None::<bool>), Condvar::new());
    let wait_for_start = || {
        let (lock, cv) = &start;
        let mut go = lock.lock().unwrap_or_else(|e| e.into_inner());
        while go.is_none() {
            go = cv.wait(go).unwrap_or_else(|e| e.into_inner());
        }
        go.unwrap_or(false)
    };
    let release = |go: bool| {
        let (lock, cv) = &start;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(go);
        cv.notify_all();
    };
    std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(n);
        for (i, ends) in ends.iter().enumerate() {
            let (make, wait_for_start) = (&make, &wait_for_start);
            let spawned = std::thread::Builder::new()
                .name(format!("solo-shard-{i}"))
                .spawn_scoped(scope, move || {
                    // Taken at once, so that a shard that does not run drops its ends here.
                    let ends = ends.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if !wait_for_start() {
                        return None;
                    }
                    let Ends { shard, jobs } = ends?;
                    // Pinning is best effort: unavailable on some systems (macOS).
                    let _ = pin_to_core(i % cores);
                    Some(block_on(async move {
                        crate::spawn(run_jobs(jobs)).detach();
                        make(shard).await
                    }))
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    release(false);
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot start shard {i}: {e}"),
                    ));
                }
            }
        }
        release(true);
        let mut outputs = Vec::with_capacity(n);
        let mut panic = None;
        for h in handles {
            match h.join() {
                Ok(out) => outputs.extend(out),
                Err(p) => {
                    panic.get_or_insert(p);
                }
            }
        }
        if let Some(p) = panic {
            resume_unwind(p);
        }
        Ok(outputs)
    })
}

/// The job runner of a simulated shard (see [`simulated`]): spawn it on the shard's host.
#[cfg(solo_sim)]
pub type JobRunner = std::pin::Pin<Box<dyn Future<Output = ()>>>;

/// Under simulation (`--cfg solo_sim`): the shards of an `n`-shard mesh without threads,
/// each with the task that runs the closures submitted to it, for a harness to run on `n`
/// simulated hosts of one thread. The mesh's channels are the same lock-free `cross`
/// rings as with [`shards`]; their wakes reach the hosts' executors, so which shard runs
/// when comes from the seeded scheduler.
///
/// # Panics
///
/// If `n` is zero.
#[cfg(solo_sim)]
pub fn simulated<M: Send + 'static>(n: usize) -> Vec<(Shard<M>, JobRunner)> {
    assert!(n > 0, "a mesh has at least one shard");
    mesh(n)
        .into_iter()
        .map(|Ends { shard, jobs }| (shard, Box::pin(run_jobs(jobs)) as JobRunner))
        .collect()
}

/// What one shard's thread receives: its handle and the receiving end of its job queue.
struct Ends<M> {
    shard: Shard<M>,
    jobs: cross::Receiver<Job>,
}

/// Builds the channels of an `n`-shard mesh.
fn mesh<M: Send + 'static>(n: usize) -> Vec<Ends<M>> {
    let mut peers = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (messages, inbox) = cross::bounded(INBOX_CAPACITY);
        let (jobs, job_queue) = cross::bounded(JOBS_CAPACITY);
        peers.push(Peer { messages, jobs });
        receivers.push((inbox, job_queue));
    }
    let peers: Arc<[Peer<M>]> = peers.into();
    receivers
        .into_iter()
        .enumerate()
        .map(|(id, (inbox, jobs))| Ends {
            shard: Shard {
                mesh: Mesh {
                    id,
                    peers: peers.clone(),
                },
                inbox,
            },
            jobs,
        })
        .collect()
}

/// Runs the closures other shards submit, in the order they arrive.
async fn run_jobs(mut jobs: cross::Receiver<Job>) {
    while let Ok(job) = jobs.recv().await {
        job();
    }
}

/// One shard's handle: who it is, its inbox, and the [`Mesh`] to reach the others.
///
/// Given to the future of each shard by [`shards`]. Not `Send`: it belongs to its
/// shard's thread. Tasks of the shard that need to send share the [`Mesh`] (cheap to
/// clone); the inbox has one reader.
pub struct Shard<M> {
    mesh: Mesh<M>,
    inbox: cross::Receiver<M>,
}

impl<M: Send + 'static> Shard<M> {
    /// A mesh of one shard, the calling thread: for code written for [`shards`] that runs
    /// on one thread (a server started with one shard, a test). Messages to shard 0 land
    /// in this handle's inbox; closures submitted to it run on this thread.
    pub fn single() -> Shard<M> {
        let Ends { shard, jobs } = mesh(1).pop().expect("a mesh of one has one shard");
        // Submissions to shard 0 run inline (see `submit_to`): nothing reads the queue.
        drop(jobs);
        shard
    }

    /// This shard's index, from 0 to [`count`](Shard::count) − 1.
    pub fn id(&self) -> usize {
        self.mesh.id
    }

    /// How many shards the mesh has.
    pub fn count(&self) -> usize {
        self.mesh.count()
    }

    /// The handle that sends to every shard (this one included).
    pub fn mesh(&self) -> &Mesh<M> {
        &self.mesh
    }

    /// Waits for the next message sent to this shard.
    ///
    /// Returns `None` only once the inbox is closed ([`close`](Shard::close)) and empty:
    /// the mesh itself never closes it, since this shard's own [`Mesh`] can send to it.
    pub async fn recv(&mut self) -> Option<M> {
        self.inbox.recv().await.ok()
    }

    /// Takes the next message if one is waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when none is waiting, [`TryRecvError::Closed`] once the
    /// inbox is closed and empty.
    pub fn try_recv(&mut self) -> Result<M, TryRecvError> {
        self.inbox.try_recv()
    }

    /// Waits for at least one message, then moves up to `limit` waiting messages into
    /// `buf` without waiting more: a batch per wake. Returns how many it moved; 0 only
    /// once the inbox is closed and empty (or `limit` is 0).
    pub async fn recv_many(&mut self, buf: &mut Vec<M>, limit: usize) -> usize {
        self.inbox.recv_many(buf, limit).await
    }

    /// Closes this shard's inbox: later sends to it fail, and [`recv`](Shard::recv)
    /// returns what is queued, then `None`.
    pub fn close(&mut self) {
        self.inbox.close();
    }
}

impl<M> fmt::Debug for Shard<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shard")
            .field("id", &self.mesh.id)
            .field("count", &self.mesh.peers.len())
            .finish_non_exhaustive()
    }
}

/// The senders of one shard.
struct Peer<M> {
    messages: cross::Sender<M>,
    jobs: cross::Sender<Job>,
}

/// Sends to the shards of a mesh: messages to one or all, closures to run on one.
///
/// Cloning is cheap (a reference count); a clone may move to any thread, but
/// [`submit_to`](Mesh::submit_to) the own shard runs the closure on the calling thread,
/// so use it from its shard.
pub struct Mesh<M> {
    /// The shard this handle belongs to.
    id: usize,
    peers: Arc<[Peer<M>]>,
}

impl<M> Clone for Mesh<M> {
    fn clone(&self) -> Mesh<M> {
        Mesh {
            id: self.id,
            peers: self.peers.clone(),
        }
    }
}

impl<M> fmt::Debug for Mesh<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mesh")
            .field("id", &self.id)
            .field("count", &self.peers.len())
            .finish()
    }
}

impl<M: Send + 'static> Mesh<M> {
    /// The index of the shard this handle belongs to.
    pub fn id(&self) -> usize {
        self.id
    }

    /// How many shards the mesh has.
    pub fn count(&self) -> usize {
        self.peers.len()
    }

    fn peer(&self, to: usize) -> &Peer<M> {
        self.peers.get(to).unwrap_or_else(|| {
            panic!(
                "shard {to} does not exist: the mesh has {} shards (0 to {})",
                self.peers.len(),
                self.peers.len() - 1
            )
        })
    }

    /// Sends `message` to shard `to`, waiting while its inbox is full.
    ///
    /// Messages from one sender to one shard arrive in the order they were sent.
    ///
    /// # Errors
    ///
    /// The message comes back if shard `to` has stopped (its inbox is closed).
    ///
    /// # Panics
    ///
    /// If `to` is not a shard of this mesh.
    pub async fn send_to(&self, to: usize, message: M) -> Result<(), SendError<M>> {
        self.peer(to).messages.send(message).await
    }

    /// Sends `message` to shard `to` if its inbox has room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the inbox is full, [`TrySendError::Closed`] when the
    /// shard has stopped; either way the message comes back.
    ///
    /// # Panics
    ///
    /// If `to` is not a shard of this mesh.
    pub fn try_send_to(&self, to: usize, message: M) -> Result<(), TrySendError<M>> {
        self.peer(to).messages.try_send(message)
    }

    /// Sends a clone of `message` to every shard, this one included, waiting while an
    /// inbox is full. Returns how many shards it reached (the others have stopped).
    pub async fn broadcast(&self, message: M) -> usize
    where
        M: Clone,
    {
        let mut reached = 0;
        for peer in self.peers.iter() {
            if peer.messages.send(message.clone()).await.is_ok() {
                reached += 1;
            }
        }
        reached
    }

    /// Runs `f` on shard `to` and returns its result: Seastar's `submit_to`.
    ///
    /// The closure runs on the target's thread, between its other tasks, in the order
    /// submissions arrive; submitting to the own shard runs it here, at the first poll. A
    /// panic in `f` is resumed in the caller. For work that must await something on the
    /// target, send a message and let the target's own task answer.
    ///
    /// # Examples
    ///
    /// ```
    /// use solo::shard::Shard;
    ///
    /// let out = solo::shards(2, |mut shard: Shard<()>| async move {
    ///     if shard.id() == 1 {
    ///         shard.recv().await; // Stays up until shard 0 is done with it.
    ///         return None;
    ///     }
    ///     let name = std::thread::current().name().map(String::from);
    ///     let there = shard.mesh().submit_to(1, || std::thread::current().name().map(String::from));
    ///     let there = there.await.unwrap();
    ///     shard.mesh().send_to(1, ()).await.unwrap();
    ///     Some((name, there))
    /// })
    /// .unwrap();
    /// let (here, there) = out[0].clone().unwrap();
    /// assert_eq!(here.as_deref(), Some("solo-shard-0"));
    /// assert_eq!(there.as_deref(), Some("solo-shard-1"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Stopped`] if shard `to` stopped before running `f`.
    ///
    /// # Panics
    ///
    /// If `to` is not a shard of this mesh, or (resumed) if `f` panicked.
    pub async fn submit_to<R, F>(&self, to: usize, f: F) -> Result<R, Stopped>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let peer = self.peer(to);
        if to == self.id {
            return Ok(f());
        }
        let (reply, result) = cross::oneshot::channel::<Result<R, Panic>>();
        let job: Job = Box::new(move || {
            let _ = reply.send(catch_unwind(AssertUnwindSafe(f)));
        });
        peer.jobs.send(job).await.map_err(|_| Stopped)?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => resume_unwind(panic),
            Err(RecvError) => Err(Stopped),
        }
    }
}

/// The shard stopped before it ran the closure (see [`Mesh::submit_to`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the shard stopped before running the closure")
    }
}

impl std::error::Error for Stopped {}
