#!/usr/bin/env bash
# Builds the release binaries and archives, reproducibly:
#   dist/sqlite-graphrag-<version>-x86_64-unknown-linux-musl.tar.gz  (static-pie)
#   dist/sqlite-graphrag-<version>-x86_64-pc-windows-gnu.zip
#   dist/SHA256SUMS
# Installs what it needs if missing (rustup targets; Debian musl-tools and
# gcc-mingw-w64-x86-64). Paths of the checkout and of CARGO_HOME are
# remapped, timestamps come from the last commit (SOURCE_DATE_EPOCH), and
# archives are written with sorted entries, fixed owners and fixed times, so
# the same commit gives the same bytes anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
dist=${DIST_DIR:-$root/dist}
# A target folder of its own: artifacts that other builds left in target/
# (with other flags) must not end up in a release.
target_dir=${RELEASE_TARGET_DIR:-$root/target/release-build}
musl=x86_64-unknown-linux-musl
windows=x86_64-pc-windows-gnu

need_package() {
  if ! command -v "$1" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else
      echo "missing $1 (Debian package $2)" >&2
      exit 1
    fi
  fi
}
need_package musl-gcc musl-tools
need_package x86_64-w64-mingw32-gcc gcc-mingw-w64-x86-64
for target in $musl $windows; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done

remap="--remap-path-prefix=$root=/build/sqlite-graphrag --remap-path-prefix=$cargo_home=/cargo"
cmap="-ffile-prefix-map=$root=/build/sqlite-graphrag -ffile-prefix-map=$cargo_home=/cargo"

# static-pie: a static executable that is still position independent.
RUSTFLAGS="$remap -C target-feature=+crt-static -C relocation-model=pie" \
  CFLAGS_x86_64_unknown_linux_musl="$cmap" \
  cargo build --release --locked --target $musl --target-dir "$target_dir"
# --no-insert-timestamp keeps the link time out of the PE header.
RUSTFLAGS="$remap -C link-arg=-Wl,--no-insert-timestamp" \
  CFLAGS_x86_64_pc_windows_gnu="$cmap" \
  cargo build --release --locked --target $windows --target-dir "$target_dir"

rm -rf "$dist"
mkdir -p "$dist"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

musl_name=sqlite-graphrag-$version-$musl
mkdir -p "$stage/$musl_name"
install -m 0755 "$target_dir/$musl/release/sqlite-graphrag" "$stage/$musl_name/sqlite-graphrag"
install -m 0644 README.md LICENSE "$stage/$musl_name/"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  --format=gnu -C "$stage" -cf - "$musl_name" | gzip -9 -n > "$dist/$musl_name.tar.gz"

windows_name=sqlite-graphrag-$version-$windows
mkdir -p "$stage/$windows_name"
install -m 0755 "$target_dir/$windows/release/sqlite-graphrag.exe" "$stage/$windows_name/sqlite-graphrag.exe"
install -m 0644 README.md LICENSE "$stage/$windows_name/"
python3 - "$stage" "$windows_name" "$dist/$windows_name.zip" <<'PY'
import os, sys, time, zipfile
stage, name, out = sys.argv[1:]
stamp = time.gmtime(max(int(os.environ["SOURCE_DATE_EPOCH"]), 315532800))[:6]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    for file in sorted(os.listdir(os.path.join(stage, name))):
        info = zipfile.ZipInfo(f"{name}/{file}", date_time=stamp)
        info.external_attr = 0o100755 << 16 if file.endswith(".exe") else 0o100644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(stage, name, file), "rb") as data:
            archive.writestr(info, data.read())
PY

cp "$target_dir/$musl/release/sqlite-graphrag" "$dist/sqlite-graphrag-$version-$musl"
cp "$target_dir/$windows/release/sqlite-graphrag.exe" "$dist/sqlite-graphrag-$version-$windows.exe"
(cd "$dist" && sha256sum -- * > SHA256SUMS)
cat "$dist/SHA256SUMS"
