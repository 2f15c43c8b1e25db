#!/usr/bin/env bash
# Builds the release twice from clean clones of HEAD, in two folders of
# different depth and name, one under /tmp and one under /var/tmp (their
# paths sort before and after /usr, where the MinGW libraries are: the order
# of a Windows executable's import tables once depended on that, see
# scripts/mingw-link.sh), each with its own CARGO_HOME (a copy of the crate
# cache at a different path), and compares every artifact of
# build-release.sh: both archives, bin/sqlite-graphrag (musl),
# bin/sqlite-graphrag.exe and SHA256SUMS. Names each artifact that differs,
# and fails as well if a build path (checkout, CARGO_HOME, HOME) appears in
# a binary, even where both builds agree. Prints the hashes; exits 1 on any
# difference or leaked path. Takes two cold release builds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d -p /tmp)
work_var=$(mktemp -d -p /var/tmp)
trap 'rm -rf "$work" "$work_var"' EXIT
registry=${CARGO_HOME:-$HOME/.cargo}/registry
commit=$(git rev-parse HEAD)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
artifacts=(
  "sqlite-graphrag-$version-x86_64-unknown-linux-musl.tar.gz"
  "sqlite-graphrag-$version-x86_64-pc-windows-gnu.zip"
  bin/sqlite-graphrag
  bin/sqlite-graphrag.exe
  SHA256SUMS
)

# build FOLDER NAME: clone HEAD into FOLDER/checkout-NAME and build it with
# CARGO_HOME=FOLDER/cargo-NAME into FOLDER/dist.
build() {
  local dir=$1 name=$2
  git clone --quiet "$root" "$dir/checkout-$name"
  git -C "$dir/checkout-$name" checkout --quiet --detach "$commit"
  mkdir -p "$dir/cargo-$name"
  # Reuse downloaded crates when there are some; the path still differs.
  if [ -d "$registry" ]; then
    cp -r "$registry" "$dir/cargo-$name/registry"
  fi
  echo "building in $dir/checkout-$name (CARGO_HOME $dir/cargo-$name)"
  (cd "$dir/checkout-$name" && CARGO_HOME="$dir/cargo-$name" DIST_DIR="$dir/dist" \
    ./scripts/build-release.sh >"$dir/build.log" 2>&1) || { tail -20 "$dir/build.log"; exit 1; }
  tail -n 1 "$dir/build.log"
}

first=$work/first
second=$work_var/second/nested/deeper
build "$first" alpha
build "$second" beta-with-a-longer-name

echo "commit $commit"
echo "first build:"
cat "$first/dist/SHA256SUMS"
echo "second build:"
cat "$second/dist/SHA256SUMS"

status=0
for artifact in "${artifacts[@]}"; do
  if cmp -s "$first/dist/$artifact" "$second/dist/$artifact"; then
    echo "same:   $artifact"
  else
    echo "DIFFER: $artifact ($(cmp -l "$first/dist/$artifact" "$second/dist/$artifact" 2>/dev/null | wc -l) bytes differ)" >&2
    status=1
  fi
done

# No build path may end up in a binary, whatever the other build did.
for dir in "$first" "$second"; do
  for binary in bin/sqlite-graphrag bin/sqlite-graphrag.exe; do
    for path in "$dir" "$HOME" "$root"; do
      if grep -q -a -F -- "$path" "$dir/dist/$binary"; then
        echo "LEAK:   $dir/dist/$binary contains $path" >&2
        status=1
      fi
    done
  done
done

if [ "$status" = 0 ]; then
  echo "reproducible: all ${#artifacts[@]} artifacts are identical, and no build path is in a binary"
else
  echo "NOT reproducible (see above)" >&2
fi
exit "$status"
