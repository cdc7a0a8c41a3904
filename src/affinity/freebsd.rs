use std::io;
use std::mem;

pub(super) fn pin_to_core(core: usize) -> io::Result<()> {
    // SAFETY: `cpuset_t` is a plain bit array; all-zero is the empty set.
    let mut set: libc::cpuset_t = unsafe { mem::zeroed() };
    if core >= 8 * mem::size_of::<libc::cpuset_t>() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "core number out of range",
        ));
    }
    // SAFETY: `core` was checked to be inside the set's bit array.
    unsafe { libc::CPU_SET(core, &mut set) };
    // SAFETY: id -1 with CPU_WHICH_TID means the calling thread; `set` is live and of the
    // size we pass.
    let ret = unsafe {
        libc::cpuset_setaffinity(
            libc::CPU_LEVEL_WHICH,
            libc::CPU_WHICH_TID,
            -1,
            mem::size_of::<libc::cpuset_t>(),
            &set,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINVAL) || e.raw_os_error() == Some(libc::EDEADLK) {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no such core, or not allowed for this process",
            ))
        } else {
            Err(e)
        }
    }
}
