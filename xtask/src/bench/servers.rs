//! The servers under test: a data-driven list, how to build them, and how to start one
//! pinned to CPU 0 and stop it again (killed, or gracefully with `SIGINT`).
//!
//! Adding a server is one entry in [`SERVERS`]: a name and, per protocol, the program and
//! its arguments (`{addr}` becomes `127.0.0.1:PORT`); a server without a program for a
//! protocol is left out of that protocol's workloads. A server whose package fails to
//! build, whose binary is missing or that does not start listening is reported as
//! unavailable with the reason, and the run goes on with the others.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::sys;

/// The CPU every server is pinned to.
pub const SERVER_CPU: usize = 0;

/// What a server speaks; each protocol is a separate program or mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// HTTP/1.1 plaintext on `/plaintext`.
    Http,
    /// TCP echo.
    Echo,
    /// solo-server's chat: Server-Sent Events on `GET /chat/events`, messages posted to
    /// `POST /chat/send`.
    Chat,
    /// HTTP/1.1 plaintext on `/plaintext`, served by one hyper service on each runtime.
    Hyper,
}

impl Protocol {
    /// Every protocol, in the order of [`Protocol::index`].
    pub const ALL: [Protocol; 4] = [
        Protocol::Http,
        Protocol::Echo,
        Protocol::Chat,
        Protocol::Hyper,
    ];

    /// Its position in [`Protocol::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Its name in log file names.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Echo => "echo",
            Protocol::Chat => "chat",
            Protocol::Hyper => "hyper",
        }
    }
}

/// How to run one server program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// A binary of a workspace package, built with `cargo build --release -p PACKAGE`.
    Cargo {
        /// The package that has the binary.
        package: &'static str,
        /// The binary's name.
        bin: &'static str,
    },
    /// A binary of a workspace package built **without its default features**, with
    /// `cargo build --release -p PACKAGE --no-default-features` into a target directory of
    /// its own ([`NO_DEFAULT_FEATURES_DIR`] under cargo's): the baseline that measures what
    /// those features cost (solo-server without `metrics`).
    CargoNoDefaultFeatures {
        /// The package that has the binary.
        package: &'static str,
        /// The binary's name.
        bin: &'static str,
    },
    /// A script under `xtask/peers/node/`, run with `node`.
    Node {
        /// The script's file name.
        script: &'static str,
    },
}

/// A program, its arguments and environment; `{addr}` in an argument becomes the listen
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launch {
    /// What to run.
    pub program: Program,
    /// Its arguments.
    pub args: &'static [&'static str],
    /// Variables set in its environment (a [`variant`] of a server: the same binary run
    /// another way, e.g. `SOLO_DRIVER=uring`).
    pub env: &'static [(&'static str, &'static str)],
}

impl Launch {
    /// `program` with `args` and nothing added to the environment.
    pub const fn new(program: Program, args: &'static [&'static str]) -> Launch {
        Launch {
            program,
            args,
            env: &[],
        }
    }
}

/// One server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSpec {
    /// Name used in `--servers`, the table, the JSON and the chart.
    pub name: &'static str,
    /// One of solo's own servers (the baseline of the ratios).
    pub solo: bool,
    /// The HTTP server, if there is one.
    pub http: Option<Launch>,
    /// The echo server, if there is one.
    pub echo: Option<Launch>,
    /// The chat server, if there is one.
    pub chat: Option<Launch>,
    /// The hyper server (the `hyper` family), if there is one.
    pub hyper: Option<Launch>,
    /// CPUs it runs on, from [`SERVER_CPU`] on: 1, or more for a sharded server (which is
    /// started on CPU 0 and pins its shards itself, shard `k` to CPU `k`).
    pub cores: usize,
}

impl ServerSpec {
    /// The launch for `protocol`, if the server has one.
    pub fn launch(&self, protocol: Protocol) -> Option<Launch> {
        match protocol {
            Protocol::Http => self.http,
            Protocol::Echo => self.echo,
            Protocol::Chat => self.chat,
            Protocol::Hyper => self.hyper,
        }
    }

    /// The CPUs it runs on.
    pub fn cpus(&self) -> Vec<usize> {
        (SERVER_CPU..SERVER_CPU + self.cores.max(1)).collect()
    }
}

/// The name of solo-server with two shards (chat only).
pub const SOLO_2SHARDS: &str = "solo-2shards";

/// The name of solo-server built without its default features (no metrics; HTTP only).
pub const SOLO_NOMETRICS: &str = "solo-nometrics";

/// The target directory (under cargo's) of [`Program::CargoNoDefaultFeatures`] builds.
pub const NO_DEFAULT_FEATURES_DIR: &str = "no-default-features";

const fn peer(name: &'static str, bin: &'static str, chat: bool, hyper: bool) -> ServerSpec {
    const PEERS: &str = "solo-bench-peers";
    ServerSpec {
        name,
        solo: false,
        cores: 1,
        http: Some(Launch::new(
            Program::Cargo {
                package: PEERS,
                bin,
            },
            &["--mode", "http", "--addr", "{addr}"],
        )),
        echo: Some(Launch::new(
            Program::Cargo {
                package: PEERS,
                bin,
            },
            &["--mode", "echo", "--addr", "{addr}"],
        )),
        chat: if chat {
            Some(Launch::new(
                Program::Cargo {
                    package: PEERS,
                    bin,
                },
                &["--mode", "chat", "--addr", "{addr}"],
            ))
        } else {
            None
        },
        hyper: if hyper {
            Some(Launch::new(
                Program::Cargo {
                    package: PEERS,
                    bin,
                },
                &["--mode", "hyper", "--addr", "{addr}"],
            ))
        } else {
            None
        },
    }
}

/// The demo server's launch (HTTP and chat).
const SOLO_SERVER_LAUNCH: Launch = Launch::new(
    Program::Cargo {
        package: "solo-server",
        bin: "solo-server",
    },
    &["--addr", "{addr}", "--quiet"],
);

/// The demo server: HTTP and chat, with its timeouts, limits, stats and metrics. It has no
/// echo: its echo row is solo-min's echo, so the echo family has the two solo rows as
/// every other family does (the same program twice: their spread is the run's noise).
const SOLO_SERVER: ServerSpec = ServerSpec {
    name: "solo-server",
    solo: true,
    cores: 1,
    http: Some(SOLO_SERVER_LAUNCH),
    echo: Some(Launch::new(
        Program::Cargo {
            package: "solo-bench-peers",
            bin: "solo-min",
        },
        &["--mode", "echo", "--addr", "{addr}"],
    )),
    chat: Some(SOLO_SERVER_LAUNCH),
    hyper: Some(Launch::new(
        Program::Cargo {
            package: "solo-bench-peers",
            bin: "solo-hyper",
        },
        &["--mode", "hyper", "--addr", "{addr}"],
    )),
};

/// `base` run with `env` added to the environment of each of its programs, under
/// another name: the same binaries run another way (`SOLO_DRIVER=uring`: solo's io_uring
/// driver). A program that does not read the variable ignores it and measures its default.
pub const fn variant(
    base: ServerSpec,
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
) -> ServerSpec {
    const fn with(
        launch: Option<Launch>,
        env: &'static [(&'static str, &'static str)],
    ) -> Option<Launch> {
        match launch {
            Some(l) => Some(Launch { env, ..l }),
            None => None,
        }
    }
    ServerSpec {
        name,
        solo: false,
        http: with(base.http, env),
        echo: with(base.echo, env),
        chat: with(base.chat, env),
        hyper: with(base.hyper, env),
        ..base
    }
}

/// The peers' minimal HTTP and echo on solo.
const SOLO_MIN: ServerSpec = peer("solo-min", "solo-min", false, false);

/// solo-server on solo-io's io_uring driver (`SOLO_DRIVER=uring`).
pub const SOLO_SERVER_URING: &str = "solo-server-uring";

/// solo-min on solo-io's io_uring driver (`SOLO_DRIVER=uring`).
pub const SOLO_MIN_URING: &str = "solo-min-uring";

/// Servers left out of the default run, measured only when named with `--servers`: the
/// metrics baseline. Taking a name out of this list puts it in every run.
pub const ONLY_WHEN_NAMED: &[&str] = &[SOLO_NOMETRICS];

/// The environment of solo's plain rows: the epoll driver, named, since solo-io's default
/// (`auto`) is io_uring where it works; the `-uring` rows are the same binaries on the ring.
const ON_EPOLL: &[(&str, &str)] = &[("SOLO_DRIVER", "epoll")];

/// `base` on the epoll driver, under its own name.
const fn on_epoll(base: ServerSpec) -> ServerSpec {
    ServerSpec {
        solo: base.solo,
        ..variant(base, base.name, ON_EPOLL)
    }
}

/// Every server the bench knows, solo's first (solo-server is the baseline of the ratios).
pub const SERVERS: &[ServerSpec] = &[
    on_epoll(SOLO_SERVER),
    // The peers' application code on solo: the runtime's cost without the demo's work.
    on_epoll(SOLO_MIN),
    on_epoll(ServerSpec {
        name: SOLO_2SHARDS,
        solo: false,
        cores: 2,
        http: None,
        echo: None,
        chat: Some(Launch::new(
            Program::Cargo {
                package: "solo-server",
                bin: "solo-server",
            },
            &["--addr", "{addr}", "--quiet", "--threads", "2"],
        )),
        hyper: None,
    }),
    peer("tokio", "peer-tokio", true, true),
    peer("smol", "peer-smol", false, false),
    peer("epoll", "peer-epoll", false, false),
    peer("uring", "peer-uring", false, false),
    peer("monoio", "peer-monoio", false, false),
    variant(SOLO_SERVER, SOLO_SERVER_URING, &[("SOLO_DRIVER", "uring")]),
    variant(SOLO_MIN, SOLO_MIN_URING, &[("SOLO_DRIVER", "uring")]),
    ServerSpec {
        name: "node",
        solo: false,
        cores: 1,
        http: Some(Launch::new(
            Program::Node { script: "http.js" },
            &["--addr", "{addr}"],
        )),
        echo: Some(Launch::new(
            Program::Node { script: "echo.js" },
            &["--addr", "{addr}"],
        )),
        chat: Some(Launch::new(
            Program::Node { script: "chat.js" },
            &["--addr", "{addr}"],
        )),
        hyper: None,
    },
    // solo-server without its `metrics` feature, only when named: `--servers
    // solo-server,solo-nometrics` measures what the runtime's metrics cost, side by side.
    ServerSpec {
        name: SOLO_NOMETRICS,
        solo: false,
        cores: 1,
        http: Some(Launch::new(
            Program::CargoNoDefaultFeatures {
                package: "solo-server",
                bin: "solo-server",
            },
            &["--addr", "{addr}", "--quiet"],
        )),
        echo: None,
        chat: None,
        hyper: None,
    },
];

/// Picks servers by name (all but [`ONLY_WHEN_NAMED`] when `names` is empty), in
/// [`SERVERS`] order.
pub fn select(names: &[String]) -> Result<Vec<ServerSpec>, String> {
    for n in names {
        if !SERVERS.iter().any(|s| s.name == n) {
            let known: Vec<_> = SERVERS.iter().map(|s| s.name).collect();
            return Err(format!("unknown server {n:?}; known: {}", known.join(", ")));
        }
    }
    Ok(SERVERS
        .iter()
        .filter(|s| {
            if names.is_empty() {
                !ONLY_WHEN_NAMED.contains(&s.name)
            } else {
                names.iter().any(|n| n == s.name)
            }
        })
        .copied()
        .collect())
}

/// Where things are: the workspace, cargo's target directory, the output directory.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
    /// `target/bench`: logs and reports.
    pub out: PathBuf,
    /// The `cargo` to run.
    pub cargo: PathBuf,
}

impl Paths {
    /// Finds the workspace (from this package's manifest) and its target directory (from
    /// `cargo metadata`, so `CARGO_TARGET_DIR` and config are honoured).
    pub fn discover() -> Result<Paths, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("the xtask package has no parent directory")?
            .to_path_buf();
        let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from);
        let out = Command::new(&cargo)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(&root)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("running cargo metadata: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo metadata failed ({})", out.status));
        }
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("reading cargo metadata: {e}"))?;
        let target = meta["target_directory"]
            .as_str()
            .map(PathBuf::from)
            .ok_or("cargo metadata has no target_directory")?;
        let out = target.join("bench");
        Ok(Paths {
            root,
            target,
            out,
            cargo,
        })
    }

    /// The log file of one process.
    pub fn log(&self, name: &str) -> PathBuf {
        self.out.join("logs").join(format!("{name}.log"))
    }
}

/// Builds the packages the selected servers need, each in its own `cargo build` so that
/// one failing package (solo while it is under construction) does not take the peers
/// down. Returns, per package, `Err(reason)` for those that did not build.
pub fn build(paths: &Paths, servers: &[ServerSpec]) -> Vec<(&'static str, Result<(), String>)> {
    let mut packages: Vec<&'static str> = Vec::new();
    for s in servers {
        for launch in [s.http, s.echo, s.chat, s.hyper].into_iter().flatten() {
            if let Program::Cargo { package, .. } = launch.program {
                if !packages.contains(&package) {
                    packages.push(package);
                }
            }
        }
    }
    // The peers first: everything else is measured against them.
    packages.sort_by_key(|p| *p != "solo-bench-peers");
    let built = build_packages(paths, &packages);
    let mut baselines: Vec<&'static str> = Vec::new();
    for s in servers {
        for launch in [s.http, s.echo, s.chat].into_iter().flatten() {
            if let Program::CargoNoDefaultFeatures { package, .. } = launch.program {
                if !baselines.contains(&package) {
                    baselines.push(package);
                }
            }
        }
    }
    for package in baselines {
        eprintln!("xtask: cargo build --release -p {package} --no-default-features");
        let dir = paths.target.join(NO_DEFAULT_FEATURES_DIR);
        let status = Command::new(&paths.cargo)
            .args(["build", "--release", "-p", package, "--no-default-features"])
            .arg("--target-dir")
            .arg(&dir)
            .current_dir(&paths.root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let result = match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!(
                "`cargo build -p {package} --no-default-features` failed ({s})"
            )),
            Err(e) => Err(format!("running cargo: {e}")),
        };
        if let Err(e) = &result {
            // Only the baseline is missing: report it on its launch, not on the package.
            eprintln!("xtask: {e}");
        }
    }
    built
}

/// Builds each package with `cargo build --release -p PACKAGE`, its output in the log
/// `build-PACKAGE`; returns, per package, `Err(reason)` for those that did not build.
pub fn build_packages(
    paths: &Paths,
    packages: &[&'static str],
) -> Vec<(&'static str, Result<(), String>)> {
    packages
        .iter()
        .map(|&package| {
            eprintln!("xtask: cargo build --release -p {package}");
            let log = paths.log(&format!("build-{package}"));
            let result = File::create(&log)
                .map_err(|e| format!("creating {}: {e}", log.display()))
                .and_then(|f| {
                    Command::new(&paths.cargo)
                        .args(["build", "--release", "-p", package])
                        .current_dir(&paths.root)
                        .stdout(Stdio::null())
                        .stderr(f)
                        .status()
                        .map_err(|e| format!("running cargo: {e}"))
                })
                .and_then(|status| {
                    if status.success() {
                        Ok(())
                    } else {
                        Err(format!(
                            "`cargo build -p {package}` failed: {}",
                            first_error(&log)
                        ))
                    }
                });
            (package, result)
        })
        .collect()
}

/// The first `error` line of a cargo log, for a one-line reason.
fn first_error(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().find(|l| l.starts_with("error")).map_or_else(
        || format!("see {}", log.display()),
        |l| format!("{l} (see {})", log.display()),
    )
}

/// Resolves a launch to a command line, or says why it cannot run.
pub fn command_for(paths: &Paths, launch: &Launch, addr: SocketAddrV4) -> Result<Command, String> {
    let mut cmd = match launch.program {
        Program::Cargo { bin, .. } => {
            let exe = paths.target.join("release").join(bin);
            if !exe.is_file() {
                return Err(format!("{} was not built", exe.display()));
            }
            Command::new(exe)
        }
        Program::CargoNoDefaultFeatures { bin, .. } => {
            let exe = paths
                .target
                .join(NO_DEFAULT_FEATURES_DIR)
                .join("release")
                .join(bin);
            if !exe.is_file() {
                return Err(format!("{} was not built", exe.display()));
            }
            Command::new(exe)
        }
        Program::Node { script } => {
            let node = find_on_path("node").ok_or("node is not on PATH")?;
            let mut c = Command::new(node);
            c.arg(paths.root.join("xtask/peers/node").join(script));
            c
        }
    };
    let addr = addr.to_string();
    cmd.args(launch.args.iter().map(|a| a.replace("{addr}", &addr)));
    cmd.envs(launch.env.iter().copied());
    Ok(cmd)
}

/// The full path of `program` on PATH, if it is there.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// An unused loopback port (bound, read, released).
pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A running server; dropping it kills it and waits for it.
#[derive(Debug)]
pub struct RunningServer {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// Where it listens.
    pub addr: SocketAddrV4,
}

impl RunningServer {
    /// Starts `launch` on a fresh port, pinned to [`SERVER_CPU`], its output in `log`, and
    /// waits (at most `timeout`) until it accepts a connection.
    pub fn start(
        paths: &Paths,
        launch: &Launch,
        log: &Path,
        timeout: Duration,
    ) -> Result<RunningServer, String> {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, free_port()?);
        let cmd = command_for(paths, launch, addr)?;
        RunningServer::spawn(cmd, addr, Some(SERVER_CPU), log, timeout)
    }

    /// Starts `cmd`, a server that will listen on `addr`, pinned to `cpu` (if given and the
    /// machine has it), its output in `log`, and waits (at most `timeout`) until it accepts
    /// a connection.
    pub fn spawn(
        mut cmd: Command,
        addr: SocketAddrV4,
        cpu: Option<usize>,
        log: &Path,
        timeout: Duration,
    ) -> Result<RunningServer, String> {
        let log_file = File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null()).stdout(log_file).stderr(log_err);
        sys::harden_child(&mut cmd, cpu);
        let child = cmd.spawn().map_err(|e| format!("starting {cmd:?}: {e}"))?;
        let mut server = RunningServer {
            pid: child.id(),
            child,
            addr,
        };
        let deadline = Instant::now() + timeout;
        loop {
            sys::check_interrupt()?;
            if let Some(status) = server.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!(
                    "exited ({status}) before listening: {}",
                    log_tail(log)
                ));
            }
            if TcpStream::connect_timeout(&SocketAddr::V4(addr), Duration::from_millis(200)).is_ok()
            {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not listening on {addr} after {timeout:?}: {}",
                    log_tail(log)
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // Let it notice that the probe connection closed.
        std::thread::sleep(Duration::from_millis(30));
        Ok(server)
    }

    /// Asks the server to shut down gracefully (`SIGINT`) and waits for it to exit, at
    /// most `timeout`; then it is killed and the result is an error. Ctrl-C while waiting
    /// ends the wait with `Err(INTERRUPTED)` (the server is killed when dropped).
    pub fn interrupt(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("the server had exited already ({status})"));
        }
        sys::signal(self.pid, libc::SIGINT).map_err(|e| format!("sending SIGINT: {e}"))?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            sys::check_interrupt()?;
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "the server did not exit within {timeout:?} of SIGINT; killed it"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it is still running; `Err` with its exit status and log tail if not.
    pub fn check_alive(&mut self, log: &Path) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the server exited ({status}): {}", log_tail(log))),
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last non-empty line of a log, shortened, or a note that it is empty.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    match text.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(l) => {
            let l = l.trim();
            if l.chars().count() > 160 {
                format!("{}…", l.chars().take(160).collect::<String>())
            } else {
                l.to_string()
            }
        }
        None => "no output".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_solo_first_and_unique_names() {
        assert_eq!(SERVERS[0].name, "solo-server");
        assert!(SERVERS[0].solo && SERVERS[1..].iter().all(|s| !s.solo));
        let two = SERVERS.iter().find(|s| s.name == SOLO_2SHARDS).unwrap();
        assert_eq!(
            (two.cores, two.cpus()),
            (2, vec![SERVER_CPU, SERVER_CPU + 1])
        );
        assert!(two.http.is_none() && two.chat.unwrap().args.contains(&"--threads"));
        // The default run's (solo-server's io_uring variant repeats its chat and hyper).
        let chat: Vec<_> = select(&[])
            .unwrap()
            .into_iter()
            .filter(|s| s.chat.is_some())
            .map(|s| s.name)
            .collect();
        assert_eq!(
            chat,
            [
                "solo-server",
                SOLO_2SHARDS,
                "tokio",
                SOLO_SERVER_URING,
                "node"
            ]
        );
        // The hyper family: one hyper service on solo and on tokio.
        let hyper: Vec<_> = select(&[])
            .unwrap()
            .into_iter()
            .filter_map(|s| Some((s.name, s.hyper?.program)))
            .collect();
        assert_eq!(
            hyper,
            [
                (
                    "solo-server",
                    Program::Cargo {
                        package: "solo-bench-peers",
                        bin: "solo-hyper"
                    }
                ),
                (
                    "tokio",
                    Program::Cargo {
                        package: "solo-bench-peers",
                        bin: "peer-tokio"
                    }
                ),
                (
                    SOLO_SERVER_URING,
                    Program::Cargo {
                        package: "solo-bench-peers",
                        bin: "solo-hyper"
                    }
                )
            ]
        );
        let mut names: Vec<_> = SERVERS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SERVERS.len());
        for s in SERVERS {
            for l in [s.http, s.echo, s.chat, s.hyper].into_iter().flatten() {
                assert!(
                    l.args.contains(&"{addr}"),
                    "{} must be told where to listen",
                    s.name
                );
            }
        }
    }

    #[test]
    fn selects_by_name_in_list_order() {
        let picked = select(&["node".into(), "tokio".into()]).unwrap();
        assert_eq!(
            picked.iter().map(|s| s.name).collect::<Vec<_>>(),
            ["tokio", "node"]
        );
        assert_eq!(
            select(&[]).unwrap().len(),
            SERVERS.len() - ONLY_WHEN_NAMED.len(),
            "all but those only named"
        );
        assert!(
            ONLY_WHEN_NAMED
                .iter()
                .all(|n| SERVERS.iter().any(|s| s.name == *n))
        );
        assert_eq!(select(&[SOLO_NOMETRICS.into()]).unwrap().len(), 1);
        assert!(
            select(&["nginx".into()])
                .unwrap_err()
                .contains("known: solo-server, solo-min, solo-2shards, tokio")
        );
    }

    #[test]
    fn commands_substitute_the_address_and_report_missing_binaries() {
        let dir = std::env::temp_dir().join(format!("xtask-servers-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("release")).unwrap();
        let paths = Paths {
            root: dir.clone(),
            target: dir.clone(),
            out: dir.clone(),
            cargo: "cargo".into(),
        };
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4242);
        let tokio = select(&["tokio".into()]).unwrap()[0].http.unwrap();
        assert!(
            command_for(&paths, &tokio, addr)
                .unwrap_err()
                .contains("was not built")
        );
        std::fs::write(dir.join("release/peer-tokio"), b"").unwrap();
        let cmd = command_for(&paths, &tokio, addr).unwrap();
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["--mode", "http", "--addr", "127.0.0.1:4242"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn variants_run_the_same_programs_with_their_environment() {
        let uring = select(&[SOLO_SERVER_URING.into()]).unwrap()[0];
        assert!(!uring.solo);
        for protocol in Protocol::ALL {
            let (base, v) = (SOLO_SERVER.launch(protocol), uring.launch(protocol));
            assert_eq!(
                base.map(|l| (l.program, l.args)),
                v.map(|l| (l.program, l.args))
            );
            assert!(v.is_none_or(|l| l.env == [("SOLO_DRIVER", "uring")]));
        }
        let min = select(&[SOLO_MIN_URING.into()]).unwrap()[0];
        assert_eq!(
            (min.http.unwrap().program, min.chat),
            (SOLO_MIN.http.unwrap().program, None)
        );
        // The variable reaches the program.
        let paths = Paths {
            root: ".".into(),
            target: "/nonexistent".into(),
            out: ".".into(),
            cargo: "cargo".into(),
        };
        let node = Launch {
            env: &[("SOLO_DRIVER", "uring")],
            ..SERVERS
                .iter()
                .find(|s| s.name == "node")
                .unwrap()
                .http
                .unwrap()
        };
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1);
        if let Ok(cmd) = command_for(&paths, &node, addr) {
            let envs: Vec<_> = cmd.get_envs().collect();
            assert_eq!(
                envs,
                [(
                    std::ffi::OsStr::new("SOLO_DRIVER"),
                    Some(std::ffi::OsStr::new("uring"))
                )]
            );
        }
    }

    /// A `RunningServer` around any child (these tests need no listener).
    fn wrap(script: &str) -> RunningServer {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        sys::harden_child(&mut cmd, None);
        let child = cmd.spawn().unwrap();
        RunningServer {
            pid: child.id(),
            child,
            addr: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1),
        }
    }

    #[test]
    fn interrupt_waits_for_a_graceful_exit_and_kills_a_stubborn_one() {
        let mut polite = wrap("trap 'exit 0' INT; echo ready; while :; do sleep 0.05; done");
        // Give the shell time to install its trap.
        std::thread::sleep(Duration::from_millis(300));
        let status = polite.interrupt(Duration::from_secs(30)).unwrap();
        assert_eq!(status.code(), Some(0));
        assert!(
            polite
                .interrupt(Duration::from_secs(1))
                .unwrap_err()
                .contains("exited already")
        );

        let mut stubborn = wrap("trap '' INT; while :; do sleep 0.05; done");
        std::thread::sleep(Duration::from_millis(300));
        let err = stubborn.interrupt(Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("did not exit"), "{err}");
        assert!(
            stubborn.child.try_wait().unwrap().is_some(),
            "killed and reaped"
        );
    }

    #[test]
    fn a_server_that_exits_is_unavailable_with_its_reason() {
        let dir = std::env::temp_dir().join(format!("xtask-exit-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("release")).unwrap();
        let exe = dir.join("release/quitter");
        std::fs::write(
            &exe,
            "#!/bin/sh\necho 'quitter: under construction' >&2\nexit 3\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let paths = Paths {
            root: dir.clone(),
            target: dir.clone(),
            out: dir.clone(),
            cargo: "cargo".into(),
        };
        let launch = Launch::new(
            Program::Cargo {
                package: "q",
                bin: "quitter",
            },
            &["{addr}"],
        );
        let err =
            RunningServer::start(&paths, &launch, &dir.join("q.log"), Duration::from_secs(30))
                .unwrap_err();
        assert!(
            err.contains("exited") && err.contains("under construction"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
