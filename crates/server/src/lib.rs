//! solo's C10k demo server: HTTP/1.1 and a Server-Sent Events chat on one thread, holding
//! many thousands of mostly idle connections at a few hundred bytes each.
//!
//! The binary (`solo-server`, see the README) is a thin command line over [`server::run`].
//! Underneath is a core independent of any runtime: everything the connection loop needs
//! that is not I/O.
//!
//! - [`server`]: the running server on `solo`: shards, the accept loop, the connection
//!   task (reading into a buffer lent by the loop), timeouts, graceful shutdown.
//! - [`config`]: its settings, and the parsers of humane flag values (`10s`, `16KiB`).
//! - [`http`]: request framing (pipelining, chunked bodies, limits and the status each
//!   violation gets), response writing into a caller-provided buffer, the cached `Date`.
//! - [`files`]: static-file path resolution under a root, and content types.
//! - [`chat`]: the Server-Sent Events broadcast hub, the event format, the `/chat` page and
//!   the body decoder of `POST /chat/send`.
//! - [`stats`]: the counters of `/stats` and the process's resident memory.
//! - `metrics` (feature `metrics`, on by default): `/metrics` in the Prometheus text
//!   format and the samples of the `/dashboard` feed, from every shard's figures;
//!   [`heap`]: the heap bytes each shard's thread holds.
//!
//! # A connection loop, without the I/O
//!
//! Bytes arrive in reads of any size; every complete request in the buffer is answered, in
//! order, into one output buffer; only the unparsed tail is kept for the next read.
//!
//! ```
//! use solo_server::http::{self, response, Exchange, Limits, Parsed, Parser};
//!
//! let reads: [&[u8]; 3] = [
//!     b"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\nGET /json HTT",
//!     b"P/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2",
//!     b"\r\nConnection: close\r\n\r\nhi",
//! ];
//! let (limits, mut parser) = (Limits::default(), Parser::new());
//! let (mut buffer, mut out) = (Vec::new(), Vec::new());
//! let mut open = true;
//! for read in reads {
//!     buffer.extend_from_slice(read);
//!     let date = http::date::now();
//!     let mut parsed = 0;
//!     while open {
//!         match parser.parse(&buffer[parsed..], &limits) {
//!             Ok(Parsed::Complete { request, consumed }) => {
//!                 parsed += consumed;
//!                 let exchange = Exchange::of(&request);
//!                 open = match request.path() {
//!                     b"/plaintext" => response::plaintext(&mut out, &date, exchange),
//!                     b"/json" => response::json(&mut out, &date, exchange),
//!                     _ => response::not_found(&mut out, &date, exchange),
//!                 };
//!             }
//!             Ok(Parsed::NeedHead | Parsed::NeedBody { send_continue: false }) => break,
//!             Ok(Parsed::NeedBody { send_continue: true }) => {
//!                 out.extend_from_slice(http::CONTINUE);
//!                 break;
//!             }
//!             Err(error) => {
//!                 open = response::error(&mut out, &date, error.status(), Exchange::CLOSE);
//!             }
//!         }
//!     }
//!     buffer.drain(..parsed);
//!     // Here the loop writes `out` to the socket and clears it.
//! }
//! let text = String::from_utf8(out).unwrap();
//! assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2);
//! assert!(text.ends_with("Connection: close\r\n\r\n404 Not Found\n"));
//! assert!(!open && buffer.is_empty());
//! ```

#![forbid(unsafe_code)]

pub mod chat;
pub mod config;
pub mod files;
pub mod heap;
pub mod http;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod server;
pub mod stats;

pub use config::Config;
