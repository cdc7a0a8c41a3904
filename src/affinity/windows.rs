use std::io;

use windows_sys::Win32::System::Threading::{GetCurrentThread, SetThreadAffinityMask};

pub(super) fn pin_to_core(core: usize) -> io::Result<()> {
    if core >= usize::BITS as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "core number out of range (processor groups are not supported)",
        ));
    }
    // SAFETY: the pseudo-handle of the current thread is always valid; the mask is a
    // plain integer.
    let previous = unsafe { SetThreadAffinityMask(GetCurrentThread(), 1usize << core) };
    if previous == 0 {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            io::Error::last_os_error(),
        ))
    } else {
        Ok(())
    }
}
