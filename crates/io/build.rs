//! Names each platform condition of the socket code once, as a `cfg` alias, so that the
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
}
