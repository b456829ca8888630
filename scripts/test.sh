#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine with Rust installed:
# installs what is missing, then runs format check, clippy, every test and the
# fuzz-target build. README's second quick-start command; `.ci/run` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

need_pkgs=()
command -v pdftotext >/dev/null 2>&1 || need_pkgs+=(poppler-utils)
command -v cc >/dev/null 2>&1 || need_pkgs+=(build-essential)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}"
fi

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test"
cargo test --workspace --locked

# The fuzz targets need a nightly toolchain and cargo-fuzz; build them when the
# nightly is installed (it is on the project's machines), say so when it is not.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo +nightly install cargo-fuzz --locked --quiet
  fi
  log "cargo fuzz build"
  (cd fuzz && cargo +nightly fuzz build --dev)
else
  log "SKIPPED: fuzz build (no nightly toolchain: rustup toolchain install nightly)"
fi

log "all checks passed"
