//! Names each platform condition of the backends once, as a `cfg` alias, so that the code
//! says `#[cfg(has_ppoll)]` instead of repeating a list of operating systems. Plain `cfg`s
//! (no crates, no files read): only the target's `target_os` and `target_vendor`.

/// `(alias, the target_os values that have it)`; `"apple"` means `target_vendor = "apple"`.
const ALIASES: &[(&str, &[&str])] = &[
    // The epoll backend (and `POLLRDHUP` for the poll(2) one).
    ("has_epoll", &["linux", "android"]),
    // The kqueue backend.
    (
        "has_kqueue",
        &["apple", "freebsd", "netbsd", "openbsd", "dragonfly"],
    ),
    // `ppoll` with a nanosecond timespec (the poll(2) backend's exact timeouts).
    (
        "has_ppoll",
        &[
            "linux",
            "android",
            "freebsd",
            "dragonfly",
            "netbsd",
            "openbsd",
        ],
    ),
    // `pipe2(O_CLOEXEC | O_NONBLOCK)`: a pipe born with its flags.
    (
        "has_pipe2",
        &[
            "linux",
            "android",
            "freebsd",
            "dragonfly",
            "netbsd",
            "openbsd",
            "illumos",
            "solaris",
            "hurd",
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
}
