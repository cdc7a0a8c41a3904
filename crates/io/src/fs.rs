//! Async filesystem operations, run on the blocking pool.
//!
//! Regular files are always "ready" to the OS's readiness APIs, so a reactor cannot
//! wait for them; every function here runs the matching `std::fs` call on the
//! blocking pool (see [`unblock`]) and completes when it returns, the way libuv
//! serves Node's `fs`.
//!
//! Errors keep their [`io::ErrorKind`] and name the operation and path, e.g.
//! `open "/x/y": No such file or directory (os error 2)`. The original error is the
//! wrapped error's [`source`](std::error::Error::source) (reach it with
//! [`io::Error::get_ref`]), which is where [`io::Error::raw_os_error`] can be asked.
//!
//! # Examples
//!
//! ```
//! # use solo_lite::future::block_on;
//! use solo_io::fs;
//!
//! # fn main() -> std::io::Result<()> {
//! let dir = std::env::temp_dir().join(format!("solo-io-fs-doc-{}", std::process::id()));
//! block_on(async {
//!     fs::create_dir_all(&dir).await?;
//!     fs::write(dir.join("hello.txt"), "hello").await?;
//!     assert_eq!(fs::read_to_string(dir.join("hello.txt")).await?, "hello");
//!     let err = fs::read(dir.join("missing")).await.unwrap_err();
//!     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
//!     assert!(err.to_string().starts_with("read \""));
//!     fs::remove_dir_all(&dir).await
//! })
//! # }
//! ```

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use crate::blocking::{Unblock, Unblocked, unblock};

pub use std::fs::{FileType, Metadata, Permissions};

/// How many directory entries one trip to the pool fetches.
const DIR_BATCH: usize = 128;

/// An error of an operation on a path: says which operation and path.
#[derive(Debug)]
struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.op, self.path)?;
        if let Some(to) = &self.to {
            write!(f, " to {to:?}")?;
        }
        write!(f, ": {}", self.source)
    }
}

impl std::error::Error for PathError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Wraps `source`, keeping its kind, with the operation and path in the message.
fn path_error(op: &'static str, path: &Path, source: io::Error) -> io::Error {
    paths_error(op, path, None, source)
}

/// Like [`path_error`], for operations on two paths (`to`: the second one).
fn paths_error(op: &'static str, path: &Path, to: Option<&Path>, source: io::Error) -> io::Error {
    let kind = source.kind();
    let path = path.to_owned();
    let to = to.map(Path::to_owned);
    io::Error::new(
        kind,
        PathError {
            op,
            path,
            to,
            source,
        },
    )
}

/// Runs `f(&path)` on the pool, naming `op` and the path in its error.
async fn on_path<T: Send + 'static>(
    op: &'static str,
    path: &Path,
    f: fn(&Path) -> io::Result<T>,
) -> io::Result<T> {
    let path = path.to_owned();
    unblock(move || f(&path).map_err(|e| path_error(op, &path, e))).await
}

/// Runs `f(&from, &to)` on the pool, naming `op` and both paths in its error.
async fn on_paths<T: Send + 'static>(
    op: &'static str,
    from: &Path,
    to: &Path,
    f: fn(&Path, &Path) -> io::Result<T>,
) -> io::Result<T> {
    let (from, to) = (from.to_owned(), to.to_owned());
    unblock(move || f(&from, &to).map_err(|e| paths_error(op, &from, Some(&to), e))).await
}

/// Reads a whole file. See [`std::fs::read`].
///
/// On the io_uring driver (see [`reactor::driver`](crate::reactor::driver)), under solo's
/// loop, the open and reads are operations on the loop's ring instead of a job on
/// the pool.
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    #[cfg(has_uring)]
    if crate::sys::uring::on_ring() {
        let path = path.as_ref();
        return crate::sys::uring::read(path)
            .await
            .map_err(|e| path_error("read", path, e));
    }
    on_path("read", path.as_ref(), |p| std::fs::read(p)).await
}

/// Reads a whole file as UTF-8. See [`std::fs::read_to_string`].
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    #[cfg(has_uring)]
    if crate::sys::uring::on_ring() {
        let path = path.as_ref();
        let bytes = read(path).await?;
        return String::from_utf8(bytes).map_err(|_| {
            path_error(
                "read",
                path,
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                ),
            )
        });
    }
    on_path("read", path.as_ref(), |p| std::fs::read_to_string(p)).await
}

/// Creates or truncates a file and writes `contents` to it. See [`std::fs::write`].
///
/// `contents` is copied once, to move it to the pool (on the io_uring driver: into the
/// ring's buffers, one chunk at a time, written by operations on the loop's ring).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    #[cfg(has_uring)]
    if crate::sys::uring::on_ring() {
        let path = path.as_ref();
        return crate::sys::uring::write(path, contents.as_ref())
            .await
            .map_err(|e| path_error("write", path, e));
    }
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_vec();
    unblock(move || std::fs::write(&path, contents).map_err(|e| path_error("write", &path, e)))
        .await
}

/// Copies a file's contents and permissions; returns the bytes copied.
/// See [`std::fs::copy`].
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    on_paths("copy", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::copy(a, b)
    })
    .await
}

/// Renames a file or directory, replacing `to` if it exists. See [`std::fs::rename`].
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    on_paths("rename", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::rename(a, b)
    })
    .await
}

/// Creates a hard link `link` to `original`. See [`std::fs::hard_link`].
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    on_paths("hard_link", original.as_ref(), link.as_ref(), |a, b| {
        std::fs::hard_link(a, b)
    })
    .await
}

/// Removes a file. See [`std::fs::remove_file`].
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove_file", path.as_ref(), |p| std::fs::remove_file(p)).await
}

/// Creates a directory. See [`std::fs::create_dir`].
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("create_dir", path.as_ref(), |p| std::fs::create_dir(p)).await
}

/// Creates a directory and its missing parents. See [`std::fs::create_dir_all`].
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("create_dir_all", path.as_ref(), |p| {
        std::fs::create_dir_all(p)
    })
    .await
}

/// Removes an empty directory. See [`std::fs::remove_dir`].
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove_dir", path.as_ref(), |p| std::fs::remove_dir(p)).await
}

/// Removes a directory and everything in it. See [`std::fs::remove_dir_all`].
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove_dir_all", path.as_ref(), |p| {
        std::fs::remove_dir_all(p)
    })
    .await
}

/// Metadata of a path, following symlinks. See [`std::fs::metadata`].
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("metadata", path.as_ref(), |p| std::fs::metadata(p)).await
}

/// Metadata of a path, not following a final symlink. See [`std::fs::symlink_metadata`].
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("symlink_metadata", path.as_ref(), |p| {
        std::fs::symlink_metadata(p)
    })
    .await
}

/// The canonical, absolute form of a path. See [`std::fs::canonicalize`].
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("canonicalize", path.as_ref(), |p| std::fs::canonicalize(p)).await
}

/// The target of a symbolic link. See [`std::fs::read_link`].
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("read_link", path.as_ref(), |p| std::fs::read_link(p)).await
}

/// Sets the permissions of a file or directory. See [`std::fs::set_permissions`].
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    unblock(move || {
        std::fs::set_permissions(&path, perm).map_err(|e| path_error("set_permissions", &path, e))
    })
    .await
}

/// Opens a directory for listing. See [`std::fs::read_dir`].
///
/// The returned [`ReadDir`] is a [`Stream`] of entries, fetched from the pool in
/// batches of 128.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path: Arc<Path> = Arc::from(path.as_ref());
    let dir = path.clone();
    let iter =
        unblock(move || std::fs::read_dir(&dir).map_err(|e| path_error("read_dir", &dir, e)))
            .await?;
    Ok(ReadDir {
        path,
        state: DirState::Idle {
            iter: Some(Box::new(iter)),
            batch: VecDeque::with_capacity(DIR_BATCH),
        },
    })
}

/// A batch of entries fetched on the pool.
type Batch = VecDeque<io::Result<std::fs::DirEntry>>;

/// A stream of the entries of a directory; see [`read_dir`].
///
/// Entries come in the order the OS lists them, without `.` and `..`. An error for
/// one entry is yielded as an item and the stream goes on.
pub struct ReadDir {
    /// The directory, for error messages.
    path: Arc<Path>,
    state: DirState,
}

enum DirState {
    /// Serving `batch`; `iter` is `None` once the listing is exhausted. (Boxed: on
    /// Windows a `ReadDir` carries a 600-byte `WIN32_FIND_DATAW`.)
    Idle {
        iter: Option<Box<std::fs::ReadDir>>,
        batch: Batch,
    },
    /// Fetching the next batch on the pool (the batch buffer travels along).
    Fetching(Unblocked<(Box<std::fs::ReadDir>, Batch, bool)>),
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                DirState::Idle { iter, batch } => {
                    if let Some(entry) = batch.pop_front() {
                        return Poll::Ready(Some(match entry {
                            Ok(entry) => Ok(DirEntry(Arc::new(entry))),
                            Err(e) => Err(path_error("read_dir", &this.path, e)),
                        }));
                    }
                    let Some(mut dir) = iter.take() else {
                        return Poll::Ready(None);
                    };
                    let mut batch = std::mem::take(batch);
                    this.state = DirState::Fetching(unblock(move || {
                        let mut exhausted = false;
                        while batch.len() < DIR_BATCH {
                            match dir.next() {
                                Some(entry) => batch.push_back(entry),
                                None => {
                                    exhausted = true;
                                    break;
                                }
                            }
                        }
                        (dir, batch, exhausted)
                    }));
                }
                DirState::Fetching(fetch) => {
                    let (dir, batch, exhausted) = ready!(Pin::new(fetch).poll(cx));
                    this.state = DirState::Idle {
                        iter: (!exhausted).then_some(dir),
                        batch,
                    };
                }
            }
        }
    }
}

/// An entry of a directory listing; see [`read_dir`].
///
/// Cheap to clone.
#[derive(Clone)]
pub struct DirEntry(Arc<std::fs::DirEntry>);

impl DirEntry {
    /// The entry's full path (the directory's path joined with the file name).
    pub fn path(&self) -> PathBuf {
        self.0.path()
    }

    /// The entry's file name.
    pub fn file_name(&self) -> OsString {
        self.0.file_name()
    }

    /// The entry's metadata; does not follow a symlink. See
    /// [`std::fs::DirEntry::metadata`].
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let entry = self.0.clone();
        unblock(move || {
            entry
                .metadata()
                .map_err(|e| path_error("metadata", &entry.path(), e))
        })
        .await
    }

    /// The entry's file type; does not follow a symlink. See
    /// [`std::fs::DirEntry::file_type`].
    pub async fn file_type(&self) -> io::Result<FileType> {
        let entry = self.0.clone();
        unblock(move || {
            entry
                .file_type()
                .map_err(|e| path_error("file_type", &entry.path(), e))
        })
        .await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.0.path()).finish()
    }
}

/// Options for opening a [`File`]; the async twin of [`std::fs::OpenOptions`].
///
/// On the io_uring driver, under solo's loop, [`open`](OpenOptions::open) is an
/// `openat` on the loop's ring, with the flags `std` would pass.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    std: std::fs::OpenOptions,
    /// The same options, kept for the ring's `openat` (std's have no getters).
    #[cfg(has_uring)]
    flags: OpenFlags,
}

/// What [`OpenOptions`] was told, as `open(2)` needs it.
#[cfg(has_uring)]
#[derive(Clone, Copy, Debug)]
struct OpenFlags {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    mode: u32,
    custom: i32,
}

#[cfg(has_uring)]
impl OpenFlags {
    /// The `open(2)` flags `std::fs::OpenOptions` passes for these options (without
    /// `O_CLOEXEC`, which the ring's open adds), or `EINVAL` where std refuses them.
    fn to_libc(self) -> io::Result<i32> {
        let invalid = || Err(io::Error::from_raw_os_error(libc::EINVAL));
        let access = match (self.read, self.write, self.append) {
            (true, false, false) => libc::O_RDONLY,
            (false, true, false) => libc::O_WRONLY,
            (true, true, false) => libc::O_RDWR,
            (false, _, true) => libc::O_WRONLY | libc::O_APPEND,
            (true, _, true) => libc::O_RDWR | libc::O_APPEND,
            (false, false, false) => return invalid(),
        };
        let creation = match (
            self.write || self.append,
            self.truncate,
            self.create,
            self.create_new,
        ) {
            (false, false, false, false) => 0,
            (false, ..) => return invalid(),
            (true, true, _, false) if self.append => return invalid(),
            (true, false, false, false) => 0,
            (true, false, true, false) => libc::O_CREAT,
            (true, true, false, false) => libc::O_TRUNC,
            (true, true, true, false) => libc::O_CREAT | libc::O_TRUNC,
            (true, _, _, true) => libc::O_CREAT | libc::O_EXCL,
        };
        Ok(access | creation | (self.custom & !libc::O_ACCMODE))
    }
}

impl OpenOptions {
    /// All options off (set at least `read`, `write` or `append`).
    pub fn new() -> OpenOptions {
        OpenOptions {
            std: std::fs::OpenOptions::new(),
            #[cfg(has_uring)]
            flags: OpenFlags {
                read: false,
                write: false,
                append: false,
                truncate: false,
                create: false,
                create_new: false,
                mode: 0o666,
                custom: 0,
            },
        }
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.std.read(read);
        #[cfg(has_uring)]
        {
            self.flags.read = read;
        }
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.std.write(write);
        #[cfg(has_uring)]
        {
            self.flags.write = write;
        }
        self
    }

    /// Open for appending: every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.std.append(append);
        #[cfg(has_uring)]
        {
            self.flags.append = append;
        }
        self
    }

    /// Truncate an existing file to length 0 (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.std.truncate(truncate);
        #[cfg(has_uring)]
        {
            self.flags.truncate = truncate;
        }
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.std.create(create);
        #[cfg(has_uring)]
        {
            self.flags.create = create;
        }
        self
    }

    /// Create the file, failing if it exists (needs `write` or `append`).
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.std.create_new(create_new);
        #[cfg(has_uring)]
        {
            self.flags.create_new = create_new;
        }
        self
    }

    /// Opens `path` with these options.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        #[cfg(has_uring)]
        if crate::sys::uring::on_ring() {
            let path = path.as_ref();
            let opened = match self.flags.to_libc() {
                Ok(flags) => crate::sys::uring::open(path, flags, self.flags.mode).await,
                Err(e) => Err(e),
            };
            let fd = opened.map_err(|e| path_error("open", path, e))?;
            return Ok(File::from(std::fs::File::from(fd)));
        }
        let options = self.std.clone();
        let path = path.as_ref().to_owned();
        let file = unblock(move || {
            options
                .open(&path)
                .map_err(|e| path_error("open", &path, e))
        })
        .await?;
        Ok(File::from(file))
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

#[cfg(unix)]
impl std::os::unix::fs::OpenOptionsExt for OpenOptions {
    fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.std.mode(mode);
        #[cfg(has_uring)]
        {
            self.flags.mode = mode;
        }
        self
    }

    fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.std.custom_flags(flags);
        #[cfg(has_uring)]
        {
            self.flags.custom = flags;
        }
        self
    }
}

/// Options for creating a directory; the async twin of [`std::fs::DirBuilder`].
///
/// # Examples
///
/// ```
/// use solo_io::fs::DirBuilder;
///
/// # solo_io::block_on(async {
/// let dir = std::env::temp_dir().join(format!("solo-dirbuilder-doc-{}", std::process::id()));
/// DirBuilder::new().recursive(true).create(dir.join("a/b")).await?;
/// assert!(dir.join("a/b").is_dir());
/// # solo_io::fs::remove_dir_all(&dir).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct DirBuilder {
    recursive: bool,
    /// Unix permission bits (before the umask); `None`: the system's default, 0o777.
    #[cfg(unix)]
    mode: Option<u32>,
}

impl DirBuilder {
    /// Options that create one directory (not its parents) with default permissions.
    pub fn new() -> DirBuilder {
        DirBuilder::default()
    }

    /// Whether missing parent directories are created too (and an existing directory is
    /// not an error), as [`create_dir_all`] does.
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// Creates the directory `path` with these options, on the pool.
    ///
    /// # Errors
    ///
    /// As [`std::fs::DirBuilder::create`] (for example `AlreadyExists` without
    /// `recursive`, `NotFound` for a missing parent), naming the path.
    pub fn create(&self, path: impl AsRef<Path>) -> Unblocked<io::Result<()>> {
        let path = path.as_ref().to_owned();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(self.recursive);
        #[cfg(unix)]
        if let Some(mode) = self.mode {
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, mode);
        }
        unblock(move || {
            builder
                .create(&path)
                .map_err(|e| path_error("create_dir", &path, e))
        })
    }
}

#[cfg(unix)]
impl std::os::unix::fs::DirBuilderExt for DirBuilder {
    /// Sets the permission bits of the directories created (before the process's umask;
    /// the default is 0o777).
    fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = Some(mode);
        self
    }
}

/// Unix-only file system operations.
#[cfg(unix)]
pub mod unix {
    use std::io;
    use std::path::Path;

    pub use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

    /// Creates a symbolic link `link` that points to `original` (which need not exist; a
    /// relative `original` is relative to `link`'s directory). See
    /// [`std::os::unix::fs::symlink`].
    ///
    /// # Examples
    ///
    /// ```
    /// use solo_io::fs;
    ///
    /// # solo_io::block_on(async {
    /// let dir = std::env::temp_dir().join(format!("solo-symlink-doc-{}", std::process::id()));
    /// fs::create_dir_all(&dir).await?;
    /// fs::write(dir.join("target.txt"), "hi").await?;
    /// fs::unix::symlink("target.txt", dir.join("link.txt")).await?;
    /// assert_eq!(fs::read_to_string(dir.join("link.txt")).await?, "hi");
    /// # fs::remove_dir_all(&dir).await?;
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
        super::on_paths("symlink", original.as_ref(), link.as_ref(), |a, b| {
            std::os::unix::fs::symlink(a, b)
        })
        .await
    }
}

/// Windows-only file system operations.
#[cfg(windows)]
pub mod windows {
    use std::io;
    use std::path::Path;

    /// Creates a symbolic link `link` to the file `original`. See
    /// [`std::os::windows::fs::symlink_file`]: Windows allows it to administrators, and to
    /// everyone in developer mode; otherwise it fails (`PermissionDenied`, OS error 1314).
    pub async fn symlink_file(
        original: impl AsRef<Path>,
        link: impl AsRef<Path>,
    ) -> io::Result<()> {
        super::on_paths("symlink_file", original.as_ref(), link.as_ref(), |a, b| {
            std::os::windows::fs::symlink_file(a, b)
        })
        .await
    }

    /// Creates a symbolic link `link` to the directory `original`. See
    /// [`std::os::windows::fs::symlink_dir`] and [`symlink_file`] for who may.
    pub async fn symlink_dir(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
        super::on_paths("symlink_dir", original.as_ref(), link.as_ref(), |a, b| {
            std::os::windows::fs::symlink_dir(a, b)
        })
        .await
    }
}

/// An open file: [`AsyncRead`], [`AsyncWrite`] and [`AsyncSeek`] on the blocking pool.
///
/// Reads and writes are buffered (64 KiB) the way [`Unblock`] buffers them, and the
/// file keeps its position consistent: a write or seek after reads accounts for
/// read-ahead, and `metadata`, `set_len` and the sync methods first write what is
/// buffered. Call `flush` (or `close`, or `sync_all`) to learn whether buffered
/// writes succeeded: a `File` dropped with buffered data writes it in the background
/// and ignores errors.
pub struct File {
    /// The file, shared with the pool jobs of `metadata`, `set_len` and the syncs.
    file: Arc<std::fs::File>,
    /// Reads, writes and seeks.
    io: FileIo,
}

/// Where a [`File`]'s reads, writes and seeks run.
enum FileIo {
    /// On the pool, buffered.
    Pool(Unblock<ArcFile>),
    /// On the io_uring ring of the thread that polls it: chosen when the file is made
    /// under solo's loop on the io_uring driver; handed to the pool (once idle) when
    /// polled where no ring runs.
    #[cfg(has_uring)]
    Ring(crate::sys::uring::RingFile),
}

impl FileIo {
    /// Ring or pool for `file`, as this thread's reactor runs now.
    fn for_file(file: &Arc<std::fs::File>) -> FileIo {
        #[cfg(has_uring)]
        if crate::sys::uring::on_ring() {
            return FileIo::Ring(crate::sys::uring::RingFile::new(file.clone()));
        }
        FileIo::Pool(Unblock::new(ArcFile(file.clone())))
    }

    /// The ring's reads and writes, unless this thread has no ring running and the file
    /// has nothing in flight there, in which case it moves to the pool for good.
    fn settle_place(&mut self, file: &Arc<std::fs::File>) {
        #[cfg(has_uring)]
        if let FileIo::Ring(ring) = self {
            if ring.is_idle() && !crate::sys::uring::on_ring() {
                *self = FileIo::Pool(Unblock::new(ArcFile(file.clone())));
            }
        }
        #[cfg(not(has_uring))]
        let _ = file;
    }
}

/// A shared `std::fs::File` that reads, writes and seeks through `&File`.
struct ArcFile(Arc<std::fs::File>);

impl Read for ArcFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl Write for ArcFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.0).flush()
    }
}

impl Seek for ArcFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self.0).seek(pos)
    }
}

impl File {
    /// Opens a file for reading. See [`std::fs::File::open`].
    ///
    /// On the io_uring driver, under solo's loop, the open is an operation on the loop's
    /// ring (reads and writes of a `File` stay on the pool).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        #[cfg(has_uring)]
        if crate::sys::uring::on_ring() {
            return File::open_on_ring(path.as_ref(), libc::O_RDONLY).await;
        }
        OpenOptions::new().read(true).open(path).await
    }

    /// `openat` on the ring with `flags` (and mode 0o666 where it creates).
    #[cfg(has_uring)]
    async fn open_on_ring(path: &Path, flags: i32) -> io::Result<File> {
        let fd = crate::sys::uring::open(path, flags, 0o666)
            .await
            .map_err(|e| path_error("open", path, e))?;
        Ok(File::from(std::fs::File::from(fd)))
    }

    /// Opens a file for writing, creating or truncating it. See
    /// [`std::fs::File::create`].
    ///
    /// On the io_uring driver, under solo's loop, the open is an operation on the ring.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        #[cfg(has_uring)]
        if crate::sys::uring::on_ring() {
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC;
            return File::open_on_ring(path.as_ref(), flags).await;
        }
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// A builder with all options off; see [`OpenOptions`].
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Writes buffered data and gives back read-ahead, so that the OS file is exactly
    /// where this `File` stands.
    async fn settle(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| match &mut self.io {
            FileIo::Pool(io) => io.poll_sync_position(cx),
            #[cfg(has_uring)]
            FileIo::Ring(ring) => ring.poll_settle(cx),
        })
        .await
    }

    /// Runs `f` on the file on the pool, after settling.
    async fn on_file<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        self.settle().await?;
        let file = self.file.clone();
        unblock(move || f(&file)).await
    }

    /// Writes buffered data, then data and metadata to the disk. See
    /// [`std::fs::File::sync_all`].
    pub async fn sync_all(&mut self) -> io::Result<()> {
        #[cfg(has_uring)]
        if crate::sys::uring::on_ring() {
            self.settle().await?;
            return crate::sys::uring::fsync(&self.file, false).await;
        }
        self.on_file(std::fs::File::sync_all).await
    }

    /// Writes buffered data, then data (without all metadata) to the disk. See
    /// [`std::fs::File::sync_data`].
    pub async fn sync_data(&mut self) -> io::Result<()> {
        #[cfg(has_uring)]
        if crate::sys::uring::on_ring() {
            self.settle().await?;
            return crate::sys::uring::fsync(&self.file, true).await;
        }
        self.on_file(std::fs::File::sync_data).await
    }

    /// Truncates or extends the file (after writing buffered data). See
    /// [`std::fs::File::set_len`]. The position does not move.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.on_file(move |f| f.set_len(size)).await
    }

    /// The file's metadata (after writing buffered data). See
    /// [`std::fs::File::metadata`].
    pub async fn metadata(&mut self) -> io::Result<Metadata> {
        self.on_file(std::fs::File::metadata).await
    }

    /// Changes the file's permissions. See [`std::fs::File::set_permissions`].
    pub async fn set_permissions(&mut self, perm: Permissions) -> io::Result<()> {
        self.on_file(move |f| f.set_permissions(perm)).await
    }

    /// Turns this into a `std::fs::File` positioned where this `File` stands.
    ///
    /// Buffered data is written first; if that (or giving back read-ahead) fails, the
    /// error is returned and the file is lost, so `flush` first to keep it on error.
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.settle().await?;
        let File { file, io } = self;
        match io {
            FileIo::Pool(io) => drop(io.into_inner().await),
            // Settled: nothing in flight holds the file.
            #[cfg(has_uring)]
            FileIo::Ring(ring) => drop(ring),
        }
        // The pool jobs that shared the file have all finished and dropped their
        // clones, so this is the only reference left.
        Arc::try_unwrap(file)
            .map_err(|_| io::Error::other("solo_io::fs::File::into_std: the file is still shared"))
    }
}

impl From<std::fs::File> for File {
    fn from(file: std::fs::File) -> File {
        let file = Arc::new(file);
        File {
            io: FileIo::for_file(&file),
            file,
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.io.settle_place(&this.file);
        match &mut this.io {
            FileIo::Pool(io) => Pin::new(io).poll_read(cx, buf),
            #[cfg(has_uring)]
            FileIo::Ring(ring) => ring.poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.io.settle_place(&this.file);
        match &mut this.io {
            FileIo::Pool(io) => {
                // Write where the reader stands, not after its read-ahead.
                ready!(io.poll_rewind(cx))?;
                Pin::new(io).poll_write(cx, buf)
            }
            #[cfg(has_uring)]
            FileIo::Ring(ring) => ring.poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            FileIo::Pool(io) => Pin::new(io).poll_flush(cx),
            #[cfg(has_uring)]
            FileIo::Ring(ring) => ring.poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            FileIo::Pool(io) => Pin::new(io).poll_close(cx),
            #[cfg(has_uring)]
            FileIo::Ring(ring) => ring.poll_flush(cx),
        }
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        this.io.settle_place(&this.file);
        match &mut this.io {
            FileIo::Pool(io) => Pin::new(io).poll_seek(cx, pos),
            #[cfg(has_uring)]
            FileIo::Ring(ring) => ring.poll_seek(cx, pos),
        }
    }
}
