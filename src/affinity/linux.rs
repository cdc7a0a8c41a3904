use std::io;
use std::mem;

pub(super) fn pin_to_core(core: usize) -> io::Result<()> {
    // SAFETY: `cpu_set_t` is a plain bit array; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    if core >= 8 * mem::size_of::<libc::cpu_set_t>() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "core number out of range",
        ));
    }
    // SAFETY: `core` was checked to be inside the set's bit array.
    unsafe { libc::CPU_SET(core, &mut set) };
    // SAFETY: pid 0 is the calling thread; `set` is a live, initialised cpu_set_t of the
    // size we pass.
    let ret = unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &set) };
    if ret == 0 {
        Ok(())
    } else {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EINVAL) {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no such core, or not allowed for this process",
            ))
        } else {
            Err(e)
        }
    }
}
