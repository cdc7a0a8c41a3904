//! `solo::process` under `solo::block_on`: children awaited by spawned tasks; and the
//! panic (not a hang) when solo's I/O is awaited under another executor.

use std::io;
use std::time::Duration;

use solo::process::{Command, Stdio};

fn shell(unix: &str, windows: &str) -> Command {
    let mut c = Command::new(if cfg!(windows) { "cmd" } else { "sh" });
    c.args(if cfg!(windows) {
        ["/C", windows]
    } else {
        ["-c", unix]
    });
    c
}

#[test]
fn tasks_await_children_concurrently() {
    let codes = solo::block_on(solo::io_timeout(Duration::from_secs(60), async {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let mut cmd = shell(&format!("exit {i}"), &format!("exit {i}"));
                cmd.stdout(Stdio::null());
                solo::spawn(async move { cmd.status().await })
            })
            .collect();
        let mut codes = Vec::new();
        for t in tasks {
            codes.push(t.await?.code());
        }
        io::Result::Ok(codes)
    }))
    .unwrap();
    assert_eq!(codes, (0..8).map(Some).collect::<Vec<_>>());
}

#[test]
fn awaiting_a_timer_under_another_block_on_panics_naming_solo_block_on() {
    let payload = std::panic::catch_unwind(|| {
        solo::future::block_on(solo::Timer::after(Duration::from_secs(3600)));
    })
    .expect_err("a panic, not a hang");
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains("solo::block_on"), "{msg}");
}
