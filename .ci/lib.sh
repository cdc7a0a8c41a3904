# .ci/lib.sh - what the CI scripts install, in one place. Sourced (`. .ci/lib.sh`), never run.
# Each helper installs only what is missing, so a warm machine pays nothing.

# need_apt PKG...: Debian packages, with apt (as root, or through sudo).
need_apt() {
  local missing=() p sudo=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "ci: need root (or sudo) to install: ${missing[*]}" >&2; return 2; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# need_target TRIPLE...: the standard library of these targets for the default toolchain.
need_target() {
  local installed t
  installed=$(rustup target list --installed)
  for t in "$@"; do
    grep -qx "$t" <<<"$installed" || rustup target add "$t"
  done
}

# need_nightly COMPONENT...: the nightly toolchain ($SOLO_NIGHTLY, default "nightly") with
# these components (miri, rust-src, ...).
need_nightly() {
  local nightly=${SOLO_NIGHTLY:-nightly}
  if ! rustup run "$nightly" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$nightly" --profile minimal --component "$@"
  else
    rustup component add --toolchain "$nightly" "$@"
  fi
}

# miri_test CARGO_TEST_ARGS...: `cargo miri test` on the nightly toolchain (installed with
# miri and rust-src if missing), building into target/miri; MIRIFLAGS come from the caller.
miri_test() {
  local nightly=${SOLO_NIGHTLY:-nightly}
  need_nightly miri rust-src
  CARGO_TARGET_DIR=target/miri cargo +"$nightly" miri setup
  CARGO_TARGET_DIR=target/miri cargo +"$nightly" miri test "$@"
}
