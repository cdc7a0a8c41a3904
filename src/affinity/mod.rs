//! Pinning the current thread to a core: one file per OS family, chosen here.

use std::io;

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod imp;
#[cfg(target_os = "freebsd")]
#[path = "freebsd.rs"]
mod imp;
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    windows
)))]
#[path = "unsupported.rs"]
mod imp;

/// Pins the current thread to core `core` (numbered from 0), so the scheduler keeps it
/// there: a single-threaded runtime then keeps its caches warm and never migrates.
///
/// Available on Linux, Android, FreeBSD and Windows (cores 0 to 63 of the thread's
/// processor group). Elsewhere, notably macOS, which offers only affinity *hints*, this
/// returns [`io::ErrorKind::Unsupported`]. A core that does not exist (or is not allowed
/// for this process) gives [`io::ErrorKind::InvalidInput`].
///
/// # Examples
///
/// ```
/// match solo::pin_to_core(0) {
///     Ok(()) => println!("pinned to core 0"),
///     Err(e) => println!("not pinned: {e}"),
/// }
/// ```
pub fn pin_to_core(core: usize) -> io::Result<()> {
    imp::pin_to_core(core).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot pin this thread to core {core}: {e}"),
        )
    })
}
