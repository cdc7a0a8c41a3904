//! The reactor's property test, driven by libFuzzer: the input is the operation sequence
//! (three bytes per operation) that `crates/io/tests/property.rs` interprets and checks
//! against its model (a source sees only its own bytes, in order; no wakeup is lost; no
//! phantom or stale readiness; registrations return to baseline). That file is included
//! here, so the property test and this target share one interpreter and one model.
//!
//! Any violation is a panic, which libFuzzer reports as a crash with the input that
//! caused it; `SOLO_PROPERTY_SEED` does not apply here, the crash file is the replay.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/io/tests/property.rs"]
mod property;

fuzz_target!(|data: &[u8]| {
    // Every wait that must complete has this hang guard: a lost wakeup fails the input
    // instead of hanging the fuzzer.
    if let Err(e) = property::run_ops(data, Duration::from_secs(10)) {
        panic!("reactor_ops: {e}");
    }
});
