#!/usr/bin/env bash
# Cross-compiles the test suite for x86_64-pc-windows-gnu and runs it under
# wine. Installs what it needs if missing (the rustup target; Debian wine64
# and gcc-mingw-w64-x86-64). Debian's wine 8 lacks ProcessPrng, which Rust's
# standard library imports from bcryptprimitives.dll, so the script builds
# windows/prng-shim into a bcryptprimitives.dll and installs it into the wine
# prefix (WINEPREFIX, default ~/.cache/sqlite-graphrag/wine). Extra
# arguments go to the test binaries (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu

need_package() {
  if ! command -v "$1" >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  fi
}
need_package x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64
need_package wine wine64
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

export WINEPREFIX=${WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/sqlite-graphrag/wine}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree=;mshtml="
wine=$(command -v wine)
if [ ! -d "$WINEPREFIX/drive_c/windows/system32" ]; then
  mkdir -p "$WINEPREFIX"
  "$wine" wineboot --init >/dev/null 2>&1 || true
  wineserver -w 2>/dev/null || true
fi
x86_64-w64-mingw32-gcc -shared -O2 -Wall -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  windows/prng-shim/prng-shim.c windows/prng-shim/prng-shim.def -ladvapi32

export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=$wine
cargo test --locked --target "$target" -- "$@"
