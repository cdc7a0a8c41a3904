//! Names each platform condition of the socket code (and of the io_uring driver) once, as a `cfg` alias, so that the
//! code says `#[cfg(has_accept4)]` instead of repeating a list of operating systems. Plain
//! `cfg`s (no crates, no files read): only the target's `target_os` and `target_vendor`.

/// `(alias, the target_os values that have it)`; `"apple"` means `target_vendor = "apple"`.
const ALIASES: &[(&str, &[&str])] = &[
    // solo-poll's kqueue backend (the same list as its `build.rs`), which watches child
    // processes for their exit; `--cfg solo_poll_force_poll` still turns it off.
    (
        "has_kqueue",
        &["apple", "freebsd", "netbsd", "openbsd", "dragonfly"],
    ),
    // `socket(.., SOCK_NONBLOCK | SOCK_CLOEXEC, ..)`: a socket born with its flags.
    (
        "has_sock_flags",
        &[
            "linux",
            "android",
            "freebsd",
            "netbsd",
            "openbsd",
            "dragonfly",
            "illumos",
            "solaris",
        ],
    ),
    // `accept4(.., SOCK_NONBLOCK | SOCK_CLOEXEC)`: an accepted stream born with its flags.
    (
        "has_accept4",
        &[
            "linux",
            "android",
            "freebsd",
            "netbsd",
            "openbsd",
            "dragonfly",
        ],
    ),
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let vendor = std::env::var("CARGO_CFG_TARGET_VENDOR").unwrap_or_default();
    for (alias, oses) in ALIASES {
        println!("cargo::rustc-check-cfg=cfg({alias})");
        let on = oses
            .iter()
            .any(|o| *o == os || (*o == "apple" && vendor == "apple"));
        if on {
            println!("cargo::rustc-cfg={alias}");
        }
    }
    // `has_uring`: the io_uring driver (`src/sys/uring/`). Linux on the architectures the
    // `io-uring` crate ships bindings for (the same condition as its dependency line in
    // Cargo.toml), and not with `--cfg solo_poll_force_poll`: the driver watches solo-poll's
    // epoll descriptor, which the forced poll(2) backend does not have.
    println!("cargo::rustc-check-cfg=cfg(has_uring)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let forced_poll = std::env::var_os("CARGO_CFG_SOLO_POLL_FORCE_POLL").is_some();
    // Nor under `--cfg solo_sim`: the simulation's loop never waits in the OS, so nothing
    // would ever reap a ring (and solo-io's default, `auto`, would make one).
    let sim = std::env::var_os("CARGO_CFG_SOLO_SIM").is_some();
    if os == "linux" && matches!(arch.as_str(), "x86_64" | "aarch64") && !forced_poll && !sim {
        println!("cargo::rustc-cfg=has_uring");
    }
}
