//! `--wrk`: cross-checks the load generator's HTTP figures with `wrk` (one thread, pinned
//! to the load generator's CPU, same connection count, pipelining through a Lua script).
//! If `wrk` reports clearly more requests/s than our generator against the same server,
//! our generator was the bottleneck.

use std::net::SocketAddrV4;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::sys;

/// The Lua script that makes wrk pipeline `depth` requests per write (its argument).
pub const PIPELINE_LUA: &str = r#"-- written by cargo xtask bench --wrk
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil, "/plaintext") end
  req = table.concat(r)
end
request = function() return req end
"#;

/// The `Requests/sec:` figure of wrk's output.
pub fn parse_requests_per_sec(output: &str) -> Option<f64> {
    output
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// The arguments of one wrk run.
pub fn args(
    addr: SocketAddrV4,
    conns: usize,
    depth: usize,
    duration: Duration,
    script: &Path,
) -> Vec<String> {
    let secs = duration.as_secs_f64().round().max(1.0) as u64;
    let mut a = vec![
        "-t1".to_string(),
        format!("-c{conns}"),
        format!("-d{secs}s"),
        "--timeout".into(),
        "10s".into(),
    ];
    if depth > 1 {
        a.extend(["-s".into(), script.display().to_string()]);
    }
    a.push(format!("http://{addr}/plaintext"));
    if depth > 1 {
        a.extend(["--".into(), depth.to_string()]);
    }
    a
}

/// Runs wrk and returns its requests/s.
pub fn run(wrk: &Path, args: &[String], cpu: usize, timeout: Duration) -> Result<f64, String> {
    let mut cmd = Command::new(wrk);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    sys::harden_child(&mut cmd, Some(cpu));
    let mut child = cmd.spawn().map_err(|e| format!("running wrk: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        if sys::interrupted() || Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            sys::check_interrupt()?;
            return Err("wrk did not finish in time".into());
        }
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_requests_per_sec(&text).ok_or_else(|| {
        format!(
            "wrk printed no Requests/sec ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrk_output() {
        let out = "Running 2s test @ http://127.0.0.1:8080/plaintext\n  1 threads and 100 connections\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   510.23us  100.00us   2.00ms   90.00%\n  300000 requests in 2.00s, 30.00MB read\nRequests/sec: 150123.45\nTransfer/sec:     15.00MB\n";
        assert_eq!(parse_requests_per_sec(out), Some(150123.45));
        assert_eq!(parse_requests_per_sec("unable to connect"), None);
    }

    #[test]
    fn builds_arguments_with_and_without_pipelining() {
        let addr: SocketAddrV4 = "127.0.0.1:80".parse().unwrap();
        let script = Path::new("/tmp/p.lua");
        let plain = args(addr, 100, 1, Duration::from_millis(2_000), script);
        assert_eq!(
            plain,
            [
                "-t1",
                "-c100",
                "-d2s",
                "--timeout",
                "10s",
                "http://127.0.0.1:80/plaintext"
            ]
        );
        let piped = args(addr, 100, 16, Duration::from_millis(300), script);
        assert_eq!(piped[2], "-d1s");
        assert_eq!(
            &piped[5..],
            [
                "-s",
                "/tmp/p.lua",
                "http://127.0.0.1:80/plaintext",
                "--",
                "16"
            ]
        );
    }
}
