#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12: a new debootstrap chroot with
# nothing in it but Rust (rustup, 1.95.0) and what rustup itself needs (curl,
# ca-certificates), a clean copy of this repository's HEAD, then
#   1. as root:            cargo run --release -- demo   (until "ready" and the live case, then Ctrl-C)
#   2. as root:            bash scripts/test.sh
#   3. as an ordinary user: the built `sentra demo` in that user's home
# Manual (not part of scripts/test.sh): needs root, network access to the
# Debian mirror, static.rust-lang.org and crates.io, ~4 GB of disk and, on two
# cores, the best part of an hour. Record the outcome in docs/OPERATIONS.md.
#
# Usage: sudo bash scripts/fresh-machine-test.sh [CHROOT_DIR] [--stage prepare|all]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
root=${1:-/var/tmp/sentra-fresh-bookworm}
stage=${3:-all}
[ "${2:-}" = "--stage" ] || stage=all
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (debootstrap and chroot need it)" >&2; exit 2; }
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }

mounted=()
cleanup() {
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
# Networks that inspect TLS (a corporate or sandbox egress proxy) add their CA
# to the host; the chroot gets the same trust, and the variables that point
# Node, curl and OpenSSL at the bundle, and nothing else from the host.
ca_env=(SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb "${ca_env[@]}" "$@"; }

if [ ! -x "$root/usr/bin/apt-get" ]; then
  log "debootstrap bookworm (minbase) into $root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
fi
for m in proc sys dev dev/pts; do
  mountpoint -q "$root/$m" || { mount --bind "/$m" "$root/$m"; mounted+=("$root/$m"); }
done
cp /etc/resolv.conf "$root/etc/resolv.conf"

if [ ! -x "$root/root/.cargo/bin/cargo" ]; then
  log "installing only what rustup needs, then Rust 1.95.0"
  in_root apt-get update -qq
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates curl >/dev/null
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    in_root update-ca-certificates >/dev/null
  fi
  # rustup-init straight from static.rust-lang.org: the sh.rustup.rs
  # redirector is not reachable from every network that reaches the dist server.
  in_root curl -sSf -o /tmp/rustup-init https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init
  in_root chmod +x /tmp/rustup-init
  in_root /tmp/rustup-init -y -q --profile minimal --default-toolchain 1.95.0 -c clippy,rustfmt
fi

log "a clean copy of HEAD ($(git rev-parse --short HEAD)) in /root/sentra"
# A rerun keeps the chroot's own build folder (built there from nothing the
# first time): on two busy cores the release build alone can take an hour.
[ -d "$root/root/sentra/target" ] && mv "$root/root/sentra/target" "$root/root/sentra-target.kept"
rm -rf "$root/root/sentra"
mkdir -p "$root/root/sentra"
git -C "$repo" archive HEAD | tar -x -C "$root/root/sentra"
[ -d "$root/root/sentra-target.kept" ] && mv "$root/root/sentra-target.kept" "$root/root/sentra/target"
# The public test vectors live beside the clone, never in it (the tests read
# ../shared/data at run time, as on the project's machines and in CI).
if [ -d "$repo/../shared/data" ]; then
  rm -rf "$root/root/shared" && mkdir -p "$root/root/shared"
  cp -r "$repo/../shared/data" "$root/root/shared/data"
fi
[ "$stage" = "prepare" ] && { log "prepared; rerun without --stage to run the commands"; exit 0; }

# Command 1 needs a C toolchain and PostgreSQL, which the README says to
# install; scripts/test.sh would install them too, but it runs second.
log "README prerequisites: apt-get install build-essential postgresql"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential pkg-config postgresql >/dev/null

log "command 1 as root: cargo run --release -- demo"
started=$(date +%s)
in_root sh -c 'cd /root/sentra && exec cargo run --release --quiet -- demo --live-after 20' >"$root/root/demo.out" 2>"$root/root/demo.err" &
demo=$!
ok=""
# Up to three hours: the release build from nothing is part of this command.
for _ in $(seq 1 10800); do
  if grep -q '^live: new message' "$root/root/demo.out" 2>/dev/null; then ok=yes; break; fi
  kill -0 "$demo" 2>/dev/null || break
  sleep 1
done
cat "$root/root/demo.out"
# $demo is the subshell running in_root; chroot, env and sh exec into cargo,
# so its child is cargo, which passes the interrupt on to the demo.
for child in $(pgrep -P "$demo" || true); do kill -INT "$child" || true; done
wait "$demo" || true
[ -n "$ok" ] || { tail -30 "$root/root/demo.err"; echo "FAILED: the demo did not reach the live case" >&2; exit 1; }
log "demo: ready and live case after $(( $(date +%s) - started )) s including the release build"

log "command 2 as root: bash scripts/test.sh"
in_root sh -c 'cd /root/sentra && bash scripts/test.sh' 2>&1 | tail -5

log "as an ordinary user: sentra demo in their home"
in_root sh -c 'id dev >/dev/null 2>&1 || useradd -m -s /bin/sh dev'
install -m 0755 "$root/root/sentra/target/release/sentra" "$root/usr/local/bin/sentra"
in_root setpriv --reuid=dev --regid=dev --init-groups env HOME=/home/dev sh -c \
  'cd /home/dev && exec sentra demo --live-after 5' >"$root/home/dev/demo.out" 2>&1 &
demo=$!
ok=""
for _ in $(seq 1 600); do
  if grep -q '^live: new message' "$root/home/dev/demo.out" 2>/dev/null; then ok=yes; break; fi
  kill -0 "$demo" 2>/dev/null || break
  sleep 1
done
cat "$root/home/dev/demo.out"
# $demo is the subshell running in_root (a function); its child is the demo
# itself (chroot, setpriv, env and sh all exec). A background job of a
# script ignores SIGINT, so the signal goes to the child, not the subshell.
for child in $(pgrep -P "$demo" || true); do kill -INT "$child" || true; done
wait "$demo" || true
[ -n "$ok" ] || { echo "FAILED: the ordinary user's demo did not reach the live case" >&2; exit 1; }
log "all three passed"
