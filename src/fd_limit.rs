//! Raising this process's limit on open descriptors.

use std::io;

/// Raises this process's soft limit on open descriptors (`RLIMIT_NOFILE`) to its hard
/// limit and returns the soft limit now in force. A server that holds thousands of
/// connections needs more than the usual default of 1,024; children inherit the raised
/// limit. On macOS the soft limit is capped at `OPEN_MAX`, the most the kernel accepts.
/// Windows has no such limit: there it does nothing and returns `u64::MAX`.
///
/// This is the workspace's one copy: solo-server's tests, the bench's peer servers and the
/// xtask call it. (solo-poll's tests keep their own: solo-poll cannot depend on solo.)
///
/// # Examples
///
/// ```
/// let limit = solo::raise_fd_limit().unwrap();
/// assert!(limit >= 64);
/// ```
#[cfg(unix)]
pub fn raise_fd_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a live rlimit for getrlimit(2) to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    #[cfg(not(target_vendor = "apple"))]
    let target = lim.rlim_max;
    // `OPEN_MAX` of <sys/syslimits.h> (the libc crate does not export it for Apple).
    #[cfg(target_vendor = "apple")]
    let target = lim.rlim_max.min(10240);
    if lim.rlim_cur < target {
        lim.rlim_cur = target;
        // SAFETY: `lim` is a live rlimit; raising the soft limit up to the hard one is
        // always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // `rlim_t` is `u64` on Linux and macOS, `i64` on FreeBSD (never negative here).
    #[allow(clippy::unnecessary_cast)]
    Ok(lim.rlim_cur as u64)
}

/// Windows has no per-process descriptor limit to raise.
#[cfg(not(unix))]
pub fn raise_fd_limit() -> io::Result<u64> {
    Ok(u64::MAX)
}
