//! The traits and extension traits, for a glob import: `use solo_lite::prelude::*;`.
//!
//! The extension traits are imported anonymously (`as _`): their methods are in scope, but
//! their names do not clash with other crates' traits of the same name.
//!
//! ```
//! use solo_lite::prelude::*;
//!
//! let n = solo_lite::future::block_on(async {
//!     let mut buf = Vec::new();
//!     solo_lite::io::Cursor::new(&b"abc"[..]).read_to_end(&mut buf).await.unwrap();
//!     solo_lite::stream::iter(buf).count().await
//! });
//! assert_eq!(n, 3);
//! ```

pub use crate::future::{Future, FutureExt as _};
pub use crate::io::{
    AsyncBufRead, AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncSeek, AsyncSeekExt as _,
    AsyncWrite, AsyncWriteExt as _,
};
pub use crate::stream::{Stream, StreamExt as _};
