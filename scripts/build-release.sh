#!/usr/bin/env bash
# Builds the release binaries and archives, reproducibly, into dist/
# (DIST_DIR; emptied first):
#   sqlite-graphrag-<version>-x86_64-unknown-linux-musl.tar.gz  (static-pie)
#   sqlite-graphrag-<version>-x86_64-pc-windows-gnu.zip
#   bin/sqlite-graphrag, bin/sqlite-graphrag.exe               (bare executables)
#   SHA256SUMS                                                 (all four, relative paths)
# Each archive unpacks to a folder named like the archive without extension.
# Beside the executable, README.md and LICENSE, the Linux archive holds the
# bash, zsh and fish completions (completions/) and one manual page per verb
# (man/man1/), the Windows archive the PowerShell completion
# (completions/sqlite-graphrag.ps1); all of them are printed by the static
# Linux executable just built, which runs here (the Windows one may not).
#
# First checks for the C toolchains (Debian musl-tools, gcc-mingw-w64-x86-64)
# and the two rustup targets, says what is missing and how it will be
# installed, and installs it: Debian packages with apt-get only when run as
# root (otherwise it prints the commands to run and exits 1).
#
# Paths of the checkout and of CARGO_HOME are remapped in Rust and C code,
# the Windows linker sees only relative paths into the target folder
# (scripts/mingw-link.sh), timestamps come from the last commit
# (SOURCE_DATE_EPOCH), and archives are written with sorted entries, fixed
# owners and fixed times, so the same commit gives the same bytes in any
# folder.
set -euo pipefail
cd "$(dirname "$0")/.."
# The physical path: cargo and rustc see that one, and it is what gets remapped.
root=$(pwd -P)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# The time of every archive entry. Not exported to cargo: cc-rs reruns
# libsqlite3-sys's build script, recompiling SQLite for both targets,
# whenever SOURCE_DATE_EPOCH changes (after every commit), and no C code here
# reads __DATE__ or __TIME__, the only use GCC has for it.
source_date_epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
dist=${DIST_DIR:-$root/dist}
# A target folder of its own: artifacts that other builds left in target/
# (with other flags) must not end up in a release.
# Absolute, as cargo spells it to rustc and the linker.
target_dir=$(realpath -s -m -- "${RELEASE_TARGET_DIR:-$root/target/release-build}")
musl=x86_64-unknown-linux-musl
windows=x86_64-pc-windows-gnu

# --- what the build needs
command -v rustup >/dev/null 2>&1 || { echo "needs rustup (https://rustup.rs) for the two Rust targets" >&2; exit 1; }
missing_packages=()
missing_targets=()
command -v musl-gcc >/dev/null 2>&1 || missing_packages+=(musl-tools)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing_packages+=(gcc-mingw-w64-x86-64)
command -v python3 >/dev/null 2>&1 || missing_packages+=(python3)
installed_targets=$(rustup target list --installed)
for target in $musl $windows; do
  grep -qx "$target" <<<"$installed_targets" || missing_targets+=("$target")
done

if [ ${#missing_packages[@]} -gt 0 ] || [ ${#missing_targets[@]} -gt 0 ]; then
  install_commands=()
  if [ ${#missing_packages[@]} -gt 0 ]; then
    echo "missing Debian packages: ${missing_packages[*]}" >&2
    install_commands+=("apt-get update && apt-get install -y ${missing_packages[*]}")
  fi
  if [ ${#missing_targets[@]} -gt 0 ]; then
    echo "missing rustup targets: ${missing_targets[*]}" >&2
    install_commands+=("rustup target add ${missing_targets[*]}")
  fi
  if [ ${#missing_packages[@]} -gt 0 ] && { [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; }; then
    echo "install them first (Debian packages as root), then run this again:" >&2
    for command in "${install_commands[@]}"; do
      if [[ $command == apt-get* ]]; then
        echo "  sudo sh -c '$command'" >&2
      else
        echo "  $command" >&2
      fi
    done
    exit 1
  fi
  echo "installing:" >&2
  printf '  %s\n' "${install_commands[@]}" >&2
  if [ ${#missing_packages[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}" >/dev/null
  fi
  if [ ${#missing_targets[@]} -gt 0 ]; then
    rustup target add "${missing_targets[@]}"
  fi
else
  echo "found: musl-gcc, x86_64-w64-mingw32-gcc, python3, rustup targets $musl and $windows" >&2
fi

# --- build
remap="--remap-path-prefix=$root=/build/sqlite-graphrag --remap-path-prefix=$cargo_home=/cargo"
cmap="-ffile-prefix-map=$root=/build/sqlite-graphrag -ffile-prefix-map=$cargo_home=/cargo"

# static-pie: a static executable that is still position independent.
RUSTFLAGS="$remap -C target-feature=+crt-static -C relocation-model=pie" \
  CFLAGS_x86_64_unknown_linux_musl="$cmap" \
  cargo build --release --locked --target $musl --target-dir "$target_dir"
# --no-insert-timestamp keeps the link time out of the PE header;
# scripts/mingw-link.sh keeps the checkout's folder out of the order of the
# import tables (see there).
RUSTFLAGS="$remap -C link-arg=-Wl,--no-insert-timestamp -C linker-flavor=gcc" \
  CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER="$root/scripts/mingw-link.sh" \
  MINGW_LINK_DIR="$target_dir" \
  CFLAGS_x86_64_pc_windows_gnu="$cmap" \
  cargo build --release --locked --target $windows --target-dir "$target_dir"

# --- dist/
rm -rf "$dist"
mkdir -p "$dist/bin"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
musl_exe=$target_dir/$musl/release/sqlite-graphrag
windows_exe=$target_dir/$windows/release/sqlite-graphrag.exe

# generated FILE ARGS...: what the musl executable prints for ARGS, as FILE (mode 0644).
generated() {
  local file=$1
  shift
  "$musl_exe" "$@" > "$file"
  chmod 0644 "$file"
}

musl_name=sqlite-graphrag-$version-$musl
install -d -m 0755 "$stage/$musl_name" "$stage/$musl_name/completions" "$stage/$musl_name/man/man1"
install -m 0755 "$musl_exe" "$stage/$musl_name/sqlite-graphrag"
install -m 0644 README.md LICENSE "$stage/$musl_name/"
generated "$stage/$musl_name/completions/sqlite-graphrag.bash" completions bash
generated "$stage/$musl_name/completions/_sqlite-graphrag" completions zsh
generated "$stage/$musl_name/completions/sqlite-graphrag.fish" completions fish
"$musl_exe" man --output-dir "$stage/$musl_name/man/man1" > /dev/null
chmod 0644 "$stage/$musl_name"/man/man1/*.1
tar --sort=name --mtime="@$source_date_epoch" --owner=0 --group=0 --numeric-owner \
  --format=gnu -C "$stage" -cf - "$musl_name" | gzip -9 -n > "$dist/$musl_name.tar.gz"

windows_name=sqlite-graphrag-$version-$windows
install -d -m 0755 "$stage/$windows_name" "$stage/$windows_name/completions"
install -m 0755 "$windows_exe" "$stage/$windows_name/sqlite-graphrag.exe"
install -m 0644 README.md LICENSE "$stage/$windows_name/"
generated "$stage/$windows_name/completions/sqlite-graphrag.ps1" completions powershell
python3 - "$stage" "$windows_name" "$dist/$windows_name.zip" "$source_date_epoch" <<'PY'
import os, sys, time, zipfile
stage, name, out, epoch = sys.argv[1:]
stamp = time.gmtime(max(int(epoch), 315532800))[:6]
root = os.path.join(stage, name)
files = sorted(
    os.path.relpath(os.path.join(folder, file), root).replace(os.sep, "/")
    for folder, _, names in os.walk(root)
    for file in names
)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    for file in files:
        info = zipfile.ZipInfo(f"{name}/{file}", date_time=stamp)
        info.external_attr = 0o100755 << 16 if file.endswith(".exe") else 0o100644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(root, file), "rb") as data:
            archive.writestr(info, data.read())
PY

install -m 0755 "$musl_exe" "$dist/bin/sqlite-graphrag"
install -m 0755 "$windows_exe" "$dist/bin/sqlite-graphrag.exe"
(cd "$dist" && LC_ALL=C sha256sum -- "$musl_name.tar.gz" "$windows_name.zip" \
  bin/sqlite-graphrag bin/sqlite-graphrag.exe > SHA256SUMS)
cat "$dist/SHA256SUMS"
echo "built in $((SECONDS / 60)) min $((SECONDS % 60)) s"
