use std::io;

pub(super) fn pin_to_core(_core: usize) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "this OS does not let a thread be pinned to a core (macOS offers only affinity hints)",
    ))
}
