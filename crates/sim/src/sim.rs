//! The harness: [`Sim`], its hosts, faults and seeds.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use solo::Task;
use solo_executor::LocalExecutor;
use solo_io::sim::{self as world, HostId};

pub use solo_io::sim::{NetConfig, NetStats};

/// Trace tags of the harness's own events (the world's are below 100).
const STEP: u64 = 100;
const DELAY: u64 = 101;

type Main = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;
type Failure = Rc<RefCell<Option<Box<dyn Any + Send>>>>;

struct Host {
    id: HostId,
    name: String,
    main: Main,
    executor: Option<Rc<LocalExecutor<'static>>>,
    task: Option<Task<()>>,
    finished: Rc<Cell<bool>>,
}

/// A fault to inject at a chosen virtual time ([`Sim::at`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The host stops: its tasks are dropped, its sockets vanish.
    Crash(String),
    /// The host starts again from its main future, with no socket.
    Restart(String),
    /// The two hosts cannot reach each other.
    Partition(String, String),
    /// The partition between the two ends.
    Heal(String, String),
    /// The network's behaviour changes.
    Net(NetConfig),
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The virtual time limit was reached.
    TimeLimit,
    /// The condition of [`Sim::run_until`] held.
    Condition,
    /// Every host's main future finished (or its host is down).
    Finished,
    /// Nothing can ever happen again: no task is ready and no timer, delivery or fault is
    /// pending (every remaining task waits for ever).
    Quiescent,
}

/// A deterministic simulation: hosts with their own executors and tasks, on one thread, in
/// virtual time, over a simulated network; every choice comes from the seed.
///
/// See the [crate docs](crate) for an example.
pub struct Sim {
    seed: u64,
    hosts: Vec<Host>,
    faults: BTreeMap<(Duration, u64), Fault>,
    fault_seq: u64,
    wake_delay: Duration,
    task_panics_fail: bool,
    steps: u64,
    failure: Failure,
    _enter: solo::reactor::EnterGuard,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.seed)
            .field("now", &self.now())
            .field(
                "hosts",
                &self.hosts.iter().map(|h| &h.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// A simulation with the default network ([`NetConfig::default`]).
    ///
    /// # Panics
    ///
    /// If another `Sim` is alive on this thread.
    pub fn new(seed: u64) -> Sim {
        Sim::with_config(seed, NetConfig::default())
    }

    /// A simulation with the network `config`.
    ///
    /// # Panics
    ///
    /// If another `Sim` is alive on this thread.
    pub fn with_config(seed: u64, config: NetConfig) -> Sim {
        world::install(seed, config);
        // Panics noted before this run are not its own.
        solo::__sim::take_task_panics();
        Sim {
            seed,
            hosts: Vec::new(),
            faults: BTreeMap::new(),
            fault_seq: 0,
            wake_delay: Duration::ZERO,
            task_panics_fail: true,
            steps: 0,
            failure: Rc::new(RefCell::new(None)),
            _enter: solo::reactor::enter(),
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Adds a host named `name` (its address resolves from the name: `"name:port"`) and
    /// starts `main` on it. `main` is called again when the host restarts after a crash.
    ///
    /// A panic in `main`'s future fails the run: [`run_for`](Sim::run_for) and the other
    /// runs panic with it.
    pub fn host<F, Fut>(&mut self, name: &str, main: F) -> &mut Sim
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let id = world::add_host(name);
        let main: Main = Rc::new(move || Box::pin(main()));
        self.hosts.push(Host {
            id,
            name: name.to_string(),
            main,
            executor: None,
            task: None,
            finished: Rc::new(Cell::new(false)),
        });
        self.start(self.hosts.len() - 1);
        self
    }

    fn start(&mut self, index: usize) {
        let ex = Rc::new(LocalExecutor::new());
        let host = &mut self.hosts[index];
        let fut = (host.main)();
        let finished = host.finished.clone();
        finished.set(false);
        let failure = self.failure.clone();
        let name = host.name.clone();
        let task = ex.spawn(CatchPanic {
            fut,
            failure,
            name,
            finished,
            seed: self.seed,
        });
        host.executor = Some(ex);
        host.task = Some(task);
    }

    fn index(&self, name: &str) -> usize {
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .unwrap_or_else(|| panic!("solo-sim: no host named {name:?}"))
    }

    /// Makes the scheduler adversarial: before a step, now and then, the clock moves on by
    /// a random delay up to `max`, as if the woken task were slow to run (timers that race
    /// with it fire first).
    pub fn set_wake_delay(&mut self, max: Duration) -> &mut Sim {
        self.wake_delay = max;
        self
    }

    /// Whether a panic in any task spawned on a host (with `solo::spawn`) fails the run:
    /// yes by default, as a detached task's panic would otherwise only be printed. Turn it
    /// off for a program that expects some of its tasks to panic (the panic still reaches
    /// the task's awaiter).
    pub fn set_task_panics_fail(&mut self, fail: bool) -> &mut Sim {
        self.task_panics_fail = fail;
        self
    }

    /// Schedules `fault` at virtual time `at` (since the start).
    pub fn at(&mut self, at: Duration, fault: Fault) -> &mut Sim {
        self.fault_seq += 1;
        self.faults.insert((at, self.fault_seq), fault);
        self
    }

    /// Injects `fault` now.
    pub fn inject(&mut self, fault: Fault) {
        match fault {
            Fault::Crash(name) => self.crash(&name),
            Fault::Restart(name) => self.restart(&name),
            Fault::Partition(a, b) => {
                world::partition(self.hosts[self.index(&a)].id, self.hosts[self.index(&b)].id)
            }
            Fault::Heal(a, b) => {
                world::heal(self.hosts[self.index(&a)].id, self.hosts[self.index(&b)].id)
            }
            Fault::Net(config) => world::set_config(config),
        }
    }

    /// Crashes host `name` now: its sockets vanish, its tasks are dropped.
    pub fn crash(&mut self, name: &str) {
        let i = self.index(name);
        let id = self.hosts[i].id;
        if !world::is_alive(id) {
            return;
        }
        world::crash(id);
        let host = &mut self.hosts[i];
        let (task, ex) = (host.task.take(), host.executor.take());
        // Dropped as the host's code (a destructor may spawn or touch a socket).
        let previous = world::set_current(Some(id));
        let before = ex
            .clone()
            .and_then(|ex| solo::__sim::set_executor(Some(ex)));
        drop(task);
        solo::__sim::set_executor(before);
        drop(ex);
        world::set_current(previous);
    }

    /// Restarts host `name` now (it must be down): its main future starts again.
    pub fn restart(&mut self, name: &str) {
        let i = self.index(name);
        let id = self.hosts[i].id;
        if world::is_alive(id) {
            return;
        }
        world::restart(id);
        self.start(i);
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        world::now()
    }

    /// The trace hash: every scheduling choice, delivery, drop, fault and clock jump so
    /// far. The same seed and program give the same hash.
    pub fn trace_hash(&self) -> u64 {
        world::trace_hash().0
    }

    /// Events in the trace so far.
    pub fn trace_len(&self) -> u64 {
        world::trace_hash().1
    }

    /// Tasks polled so far, over all hosts.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The network's counters.
    pub fn net_stats(&self) -> NetStats {
        world::stats()
    }

    /// Whether host `name`'s main future has finished.
    pub fn is_finished(&self, name: &str) -> bool {
        self.hosts[self.index(name)].finished.get()
    }

    /// Runs for `duration` of virtual time (or until nothing can happen any more).
    pub fn run_for(&mut self, duration: Duration) -> Outcome {
        let end = self.now() + duration;
        self.run_inner(end, &mut |_| false)
    }

    /// Runs until `cond` holds (checked after every step), for at most `limit` of virtual
    /// time.
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&Sim) -> bool) -> Outcome {
        let end = self.now() + limit;
        self.run_inner(end, &mut cond)
    }

    /// Runs until every host's main future has finished, for at most `limit`.
    pub fn run(&mut self, limit: Duration) -> Outcome {
        let end = self.now() + limit;
        let outcome = self.run_inner(end, &mut |sim| {
            sim.hosts
                .iter()
                .all(|h| h.finished.get() || h.executor.is_none())
        });
        if outcome == Outcome::Condition {
            Outcome::Finished
        } else {
            outcome
        }
    }

    fn run_inner(&mut self, end: Duration, cond: &mut dyn FnMut(&Sim) -> bool) -> Outcome {
        loop {
            if cond(self) {
                return Outcome::Condition;
            }
            if self.now() >= end {
                return Outcome::TimeLimit;
            }
            self.apply_due_faults();
            if self.step() {
                continue;
            }
            let now = self.now();
            if world::next_wakeup().is_none() && self.faults.is_empty() {
                return Outcome::Quiescent;
            }
            // The world's park jumps to the next timer or delivery by itself (exactly:
            // `next_wakeup` may be a timer wheel's lower bound); bound it by the next fault
            // and the end of the run.
            let fault = self.faults.keys().next().map(|k| k.0);
            let bound = fault.map_or(end, |f| f.min(end));
            park(bound.saturating_sub(now));
        }
    }

    fn apply_due_faults(&mut self) {
        let now = self.now();
        while let Some(entry) = self.faults.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let fault = entry.remove();
            self.inject(fault);
        }
    }

    /// Runs one ready task of a host chosen by the seed; `false` if none is ready.
    fn step(&mut self) -> bool {
        let ready: Vec<usize> = self
            .hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.executor.as_ref().is_some_and(|ex| ex.has_ready()))
            .map(|(i, _)| i)
            .collect();
        if ready.is_empty() {
            return false;
        }
        if self.wake_delay > Duration::ZERO && world::random() % 8 == 0 {
            let delay =
                Duration::from_nanos(world::random() % (self.wake_delay.as_nanos().max(1) as u64));
            world::trace(DELAY, &[delay.as_nanos() as u64]);
            park(delay);
        }
        let i = ready[(world::random() % ready.len() as u64) as usize];
        let host = &self.hosts[i];
        let ex = host.executor.clone().expect("a ready host has an executor");
        let n = ex.ready_count().max(1) as u64;
        let skip = (world::random() % n) as usize;
        world::trace(STEP, &[i as u64, skip as u64]);
        let previous = world::set_current(Some(host.id));
        let before = solo::__sim::set_executor(Some(ex.clone()));
        ex.run_one_after(skip);
        solo::__sim::set_executor(before);
        world::set_current(previous);
        self.steps += 1;
        if let Some(payload) = self.failure.borrow_mut().take() {
            panic::resume_unwind(payload);
        }
        let panics = solo::__sim::take_task_panics();
        if self.task_panics_fail && !panics.is_empty() {
            panic!(
                "a task of host {:?} panicked at {:?} of virtual time (seed {}): {}",
                self.hosts[i].name,
                self.now(),
                self.seed,
                panics.join("; ")
            );
        }
        true
    }
}

/// Lets the clock move on by at most `d` (firing what falls due).
fn park(d: Duration) {
    // With a bound, a simulated park never fails (it jumps at most to the bound).
    let _ = solo_io::reactor::park(Some(d.max(Duration::from_nanos(1))));
}

impl Drop for Sim {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Whatever failed (a host, or the test's check after a run), the seed replays it.
            eprintln!(
                "solo-sim: a simulation with seed {} failed at {:?} of virtual time; \
                 replay it with SOLO_SIM_SEED={} (see solo_sim::seeds) or \
                 cargo xtask sim --seed {}",
                self.seed,
                self.now(),
                self.seed,
                self.seed
            );
        }
        for i in 0..self.hosts.len() {
            let host = &mut self.hosts[i];
            let id = host.id;
            let (task, ex) = (host.task.take(), host.executor.take());
            let previous = world::set_current(Some(id));
            let before = ex
                .clone()
                .and_then(|ex| solo::__sim::set_executor(Some(ex)));
            drop(task);
            solo::__sim::set_executor(before);
            drop(ex);
            world::set_current(previous);
        }
        world::uninstall();
    }
}

/// A host's main future, its panic caught and handed to the harness.
struct CatchPanic {
    fut: Pin<Box<dyn Future<Output = ()>>>,
    failure: Failure,
    name: String,
    finished: Rc<Cell<bool>>,
    seed: u64,
}

impl Future for CatchPanic {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match panic::catch_unwind(AssertUnwindSafe(|| this.fut.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(())) => {
                this.finished.set(true);
                Poll::Ready(())
            }
            Err(payload) => {
                let message = panic_message(&*payload);
                *this.failure.borrow_mut() = Some(Box::new(format!(
                    "host {:?} panicked at {:?} of virtual time (seed {}): {message}",
                    this.name,
                    world::now(),
                    this.seed
                )));
                Poll::Ready(())
            }
        }
    }
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic with a non-text payload)".to_string()
    }
}

/// The seeds to run: `SOLO_SIM_SEED=n` gives just `n` (a replay); otherwise
/// `0..SOLO_SIM_SEEDS` if set, else `0..default_count`.
pub fn seeds(default_count: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("SOLO_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let count = std::env::var("SOLO_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_count);
    (0..count).collect()
}

/// Runs `test` once per seed of [`seeds`]`(default_count)`. Every failing seed is printed
/// with the command that replays it (a line starting `solo-sim: FAILED seed`); after the
/// last seed, the test fails naming them all.
pub fn check(name: &str, default_count: u64, mut test: impl FnMut(u64)) {
    let mut failed = Vec::new();
    for seed in seeds(default_count) {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| test(seed))) {
            eprintln!("{}", replay_message(name, seed, &panic_message(&*payload)));
            failed.push(seed);
        }
    }
    assert!(
        failed.is_empty(),
        "solo-sim: {name} failed with the seeds {failed:?}"
    );
}

/// Runs `test` on each seed and returns the first that fails, with its panic message
/// (the search half of [`check`], for tests that expect a failure).
pub fn find_failure(
    seeds: impl IntoIterator<Item = u64>,
    mut test: impl FnMut(u64),
) -> Option<(u64, String)> {
    seeds.into_iter().find_map(|seed| {
        panic::catch_unwind(AssertUnwindSafe(|| test(seed)))
            .err()
            .map(|payload| (seed, panic_message(&*payload)))
    })
}

/// What [`check`] prints for a failing seed: the seed and how to replay it (the same test
/// command, with `SOLO_SIM_SEED` set).
pub fn replay_message(name: &str, seed: u64, message: &str) -> String {
    format!(
        "solo-sim: FAILED seed {seed} of {name}: {message}\n\
         solo-sim: replay exactly this run, with its event trace:\n    \
         cargo xtask sim --seed {seed} --filter {name}\n\
         solo-sim: or by hand: SOLO_SIM_SEED={seed} RUSTFLAGS=\"--cfg solo_sim\" \
         CARGO_TARGET_DIR=target/sim cargo test -p <package> --test <file> -- {name}"
    )
}
