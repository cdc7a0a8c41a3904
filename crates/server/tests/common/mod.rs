//! The test harness: the server binary as a child process (killed and reaped by a guard,
//! also when a test fails), and a small blocking HTTP client with hang guards.

#![allow(dead_code)] // Each test file uses its own part of the harness.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// How long any single socket operation or wait may take before the test fails (a hang
/// guard, never a performance claim).
pub const HANG: Duration = Duration::from_secs(30);

/// The server as a child process. Dropping it kills and reaps the child.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// Lines the server printed after the first one.
    pub lines: Receiver<String>,
}

impl Server {
    /// Starts `solo-server --addr 127.0.0.1:0 --quiet` with `args` (which may name another
    /// address) and waits for the line that tells its address.
    pub fn start(args: &[&str]) -> Server {
        Server::try_start(args)
            .unwrap_or_else(|(output, _)| panic!("server did not start: {output}"))
    }

    /// Like [`start`](Server::start); on failure, what it printed and how it exited.
    pub fn try_start(args: &[&str]) -> Result<Server, (String, Option<ExitStatus>)> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_solo-server"));
        if !args.contains(&"--addr") {
            command.args(["--addr", "127.0.0.1:0"]);
        }
        command
            .arg("--quiet")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn solo-server");
        let (lines, stdout_lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        // Drain both pipes for as long as the child lives, so it never blocks on them.
        for pipe in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(lines);
        let mut guard = ChildGuard(Some(child));
        let mut printed = String::new();
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match stdout_lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line
                        .strip_prefix("solo-server listening on http://")
                        .and_then(|rest| rest.split_whitespace().next())
                    {
                        let addr = addr.parse().expect("a socket address");
                        let child = guard.0.take().expect("the child");
                        return Ok(Server {
                            child,
                            addr,
                            lines: stdout_lines,
                        });
                    }
                    printed.push_str(&line);
                    printed.push('\n');
                }
                Err(_) => {
                    let status = guard.wait(HANG);
                    return Err((printed, status));
                }
            }
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `SIGINT` (Ctrl-C) to the server.
    #[cfg(unix)]
    pub fn interrupt(&self) {
        self.signal(libc::SIGINT);
    }

    /// Stops the server (`SIGSTOP`): the kernel still takes connections and data for it,
    /// which it finds all at once when [`resume`](Server::resume)d, with any signal sent
    /// meanwhile.
    #[cfg(unix)]
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a [`pause`](Server::pause)d server go on (`SIGCONT`).
    #[cfg(unix)]
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    #[cfg(unix)]
    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) with a valid signal number has no memory-safety requirements;
        // the pid is our own child, not yet reaped (so not reused).
        let result = unsafe { libc::kill(pid, signal) };
        assert_eq!(result, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the server to exit, at most `limit`; `None` if it did not.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        wait_child(&mut self.child, limit)
    }

    /// The server's resident memory, from `/proc`.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read the child's /proc status");
        solo_server::stats::parse_vm_rss(&status).expect("VmRSS")
    }

    /// Connects a client.
    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// One request on a fresh connection; the response.
    pub fn get(&self, path: &str) -> Response {
        let mut client = self.connect();
        client.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        client.response()
    }

    /// The `/stats` JSON value of `field` (the server's total for a counter).
    pub fn stat(&self, field: &str) -> Option<u64> {
        json_number(&self.get("/stats").text(), field)
    }

    /// `/stats`, parsed.
    pub fn stats(&self) -> serde_json::Value {
        let text = self.get("/stats").text();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("/stats is not JSON ({e}): {text}"))
    }

    /// The counter `field` of each shard, from `/stats`'s `per_shard`.
    pub fn per_shard(&self, field: &str) -> Vec<u64> {
        let stats = self.stats();
        stats["per_shard"]
            .as_array()
            .unwrap_or_else(|| panic!("no per_shard array: {stats}"))
            .iter()
            .map(|shard| {
                shard[field]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no {field} in {shard}"))
            })
            .collect()
    }

    /// Subscribes to the chat (resuming after `last_event_id`, if given): the stream's head
    /// and its first comment are read.
    pub fn subscribe(&self, last_event_id: Option<u64>) -> Client {
        let mut client = self.connect();
        let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        client.send(format!("GET /chat/events HTTP/1.1\r\nHost: test\r\n{resume}\r\n").as_bytes());
        let head = client.response_to(true);
        assert_eq!(head.status, 200, "subscribing: {head:?}");
        assert_eq!(head.header("content-type"), Some("text/event-stream"));
        assert_eq!(client.line(), ": solo chat: connected");
        assert_eq!(client.line(), "");
        client
    }

    /// Posts `text` (plain text) to the chat on a new connection; the status.
    pub fn post(&self, text: &str) -> u16 {
        let mut client = self.connect();
        client.send(&post_request(text));
        client.response().status
    }
}

/// A `POST /chat/send` of `text` as plain text.
pub fn post_request(text: &str) -> Vec<u8> {
    format!(
        "POST /chat/send HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its `id:` field.
    pub id: Option<u64>,
    /// Its `event:` field (`None` for a message).
    pub name: Option<String>,
    /// Its `data:` lines, joined with `\n`.
    pub data: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills and reaps a child that never got handed over.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        self.0.as_mut().and_then(|child| wait_child(child, limit))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_child(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The number after `"field":` in a flat JSON object.
pub fn json_number(json: &str, field: &str) -> Option<u64> {
    let key = format!("\"{field}\":");
    let at = json.find(&key)? + key.len();
    let digits: String = json[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A parsed response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A blocking client with read and write timeouts.
pub struct Client {
    pub reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, HANG).expect("connect");
        Client::from_stream(stream)
    }

    pub fn from_stream(stream: TcpStream) -> Client {
        stream.set_read_timeout(Some(HANG)).unwrap();
        stream.set_write_timeout(Some(HANG)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("send");
    }

    /// Shuts the client's write side (the server reads end-of-file).
    pub fn shutdown_write(&self) {
        self.stream().shutdown(Shutdown::Write).expect("shutdown");
    }

    /// Reads the next event of an event stream, skipping comments; `None` once the server
    /// closed the stream.
    pub fn next_event(&mut self) -> Option<Event> {
        let mut event = Event {
            id: None,
            name: None,
            data: String::new(),
        };
        let (mut fields, mut data_lines) = (0, 0);
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).expect("read an event") == 0 {
                return None;
            }
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                if fields > 0 {
                    return Some(event);
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(": ").unwrap_or((line, ""));
            match field {
                "id" => event.id = Some(value.parse().expect("a numeric id")),
                "event" => event.name = Some(value.to_string()),
                "data" => {
                    if data_lines > 0 {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                    data_lines += 1;
                }
                other => panic!("unexpected field {other:?} in an event stream"),
            }
            fields += 1;
        }
    }

    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("read a line");
        assert!(n > 0, "connection closed before a complete response");
        line.trim_end_matches(['\r', '\n']).to_string()
    }

    /// Reads one response: head, then `Content-Length` bytes (none for 1xx, 204 and
    /// `head_only`).
    pub fn response_to(&mut self, head_only: bool) -> Response {
        let status_line = self.line();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("a header field");
            headers.push((name.to_string(), value.trim().to_string()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if !head_only && status >= 200 && status != 204 {
            let length: usize = response
                .header("content-length")
                .expect("Content-Length")
                .parse()
                .unwrap();
            response.body = vec![0; length];
            self.reader.read_exact(&mut response.body).expect("body");
        }
        response
    }

    pub fn response(&mut self) -> Response {
        self.response_to(false)
    }

    /// The next response, `None` if the server closed cleanly before its first byte, or
    /// the error that ended it (a reset: `ConnectionReset`; a close in the middle of a
    /// response: `UnexpectedEof`). For tests where the server may close at any time.
    pub fn try_response(&mut self) -> std::io::Result<Option<Response>> {
        use std::io::{Error, ErrorKind};
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line)? == 0 {
                if head.is_empty() && line.is_empty() {
                    return Ok(None);
                }
                return Err(ErrorKind::UnexpectedEof.into());
            }
            if !line.ends_with(b"\n") {
                return Err(ErrorKind::UnexpectedEof.into());
            }
            if line == b"\r\n" {
                break;
            }
            head.push(String::from_utf8_lossy(&line).trim_end().to_string());
        }
        let bad = |what: &str| Error::new(ErrorKind::InvalidData, format!("{what}: {head:?}"));
        let status = head
            .first()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| bad("bad status line"))?;
        let headers: Vec<(String, String)> = head[1..]
            .iter()
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                (name.to_string(), value.trim().to_string())
            })
            .collect();
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if status >= 200 && status != 204 {
            let length = response
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad("no Content-Length"))?;
            response.body = vec![0; length];
            self.reader.read_exact(&mut response.body)?;
        }
        Ok(Some(response))
    }

    /// Reads until the server closes; returns what came (asserting it closed in time).
    pub fn read_to_end(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        self.reader
            .read_to_end(&mut rest)
            .expect("read until the server closes");
        rest
    }

    /// Asserts that the server closes the connection without sending anything more.
    pub fn expect_closed(&mut self) {
        let rest = self.read_to_end();
        assert!(
            rest.is_empty(),
            "unexpected bytes before close: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// Raises this process's soft limit on descriptors to its hard limit; returns the limit
/// (`u64::MAX` where there is none).
pub fn raise_fd_limit() -> u64 {
    solo::raise_fd_limit().expect("raising the descriptor limit")
}

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("solo-server-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
