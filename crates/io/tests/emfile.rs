//! Accept under descriptor exhaustion: the server backs off instead of spinning, and
//! serves again once descriptors free up.
//!
//! The server runs in a child process (this test binary re-executed) whose
//! `RLIMIT_NOFILE` is lowered; the clients run here.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "SOLO_IO_EMFILE_CHILD";
const CLIENTS: usize = 40;

#[test]
fn accept_backs_off_under_emfile_and_recovers() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return child();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "accept_backs_off_under_emfile_and_recovers",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port: u16 = loop {
        let line = lines
            .next()
            .expect("child exited before printing its port")
            .unwrap();
        // libtest may print "test <name> ... " on the same line first.
        if let Some((_, p)) = line.split_once("PORT ") {
            break p.trim().parse().unwrap();
        }
    };
    let clients: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    for mut c in clients {
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut buf = [0u8; 2];
        c.read_exact(&mut buf)
            .expect("every client is served eventually");
        assert_eq!(&buf, b"ok");
    }
    let mut report = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((_, r)) = line.split_once("CPU ") {
            report = r.to_string();
        }
    }
    assert!(child.wait().unwrap().success(), "the server child failed");
    assert!(!report.is_empty(), "child printed no CPU report");
    let parts: Vec<f64> = report
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let (cpu, wall) = (parts[0], parts[1]);
    assert!(
        cpu < wall / 2.0,
        "the server spun while out of descriptors: {cpu}s CPU in {wall}s"
    );
}

fn child() {
    use solo_executor::LocalExecutor;
    use solo_io::net::TcpListener;
    use solo_io::{Timer, block_on};
    use solo_lite::io::AsyncWriteExt;
    use std::cell::RefCell;
    use std::rc::Rc;

    // Room for stdio, the poller, the listener and about 20 connections.
    let limit = libc::rlimit {
        rlim_cur: 32,
        rlim_max: 32,
    };
    // SAFETY: setrlimit with a valid pointer to a live struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);

    let start = Instant::now();
    let ex = LocalExecutor::new();
    block_on(ex.run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        let held = Rc::new(RefCell::new(Vec::new()));
        // Hold every connection for a while, so the process runs out of descriptors.
        let release = ex.spawn({
            let held = held.clone();
            async move {
                loop {
                    Timer::after(Duration::from_millis(400)).await;
                    held.borrow_mut().clear();
                }
            }
        });
        for _ in 0..CLIENTS {
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"ok").await.unwrap();
            held.borrow_mut().push(s);
        }
        drop(release);
    }));
    let wall = start.elapsed().as_secs_f64();
    // SAFETY: `getrusage` fills the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }, 0);
    let cpu = ru.ru_utime.tv_sec as f64
        + ru.ru_utime.tv_usec as f64 / 1e6
        + ru.ru_stime.tv_sec as f64
        + ru.ru_stime.tv_usec as f64 / 1e6;
    println!("CPU {cpu} {wall}");
}
