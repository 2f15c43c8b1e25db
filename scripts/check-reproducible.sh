#!/usr/bin/env bash
# Builds the release twice from clean clones of HEAD, in two different
# folders with two different CARGO_HOMEs, and checks that both builds give
# byte-identical binaries and archives. Prints the hashes; exits 1 if any
# differ. Takes two full release builds (about 4 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
registry=${CARGO_HOME:-$HOME/.cargo}/registry
commit=$(git rev-parse HEAD)

build() {
  local dir=$1
  git clone --quiet "$root" "$dir/checkout-$2"
  git -C "$dir/checkout-$2" checkout --quiet --detach "$commit"
  mkdir -p "$dir/cargo-$2"
  # Reuse downloaded crates when there are some; the path still differs.
  if [ -d "$registry" ]; then
    cp -r "$registry" "$dir/cargo-$2/registry"
  fi
  (cd "$dir/checkout-$2" && CARGO_HOME="$dir/cargo-$2" DIST_DIR="$dir/dist" \
    ./scripts/build-release.sh >"$dir/build.log" 2>&1) || { tail -20 "$dir/build.log"; exit 1; }
}

build "$work/first" alpha
build "$work/second/nested" beta
echo "commit $commit"
echo "first build:"
cat "$work/first/dist/SHA256SUMS"
echo "second build:"
cat "$work/second/nested/dist/SHA256SUMS"
if cmp -s "$work/first/dist/SHA256SUMS" "$work/second/nested/dist/SHA256SUMS"; then
  echo "reproducible: both builds are identical"
else
  echo "NOT reproducible: the builds differ" >&2
  exit 1
fi
