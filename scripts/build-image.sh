#!/usr/bin/env bash
# Builds the container image (Dockerfile) from dist/bin/sqlite-graphrag,
# running scripts/build-release.sh first if that binary is missing, and tags
# it localhost/sqlite-graphrag (latest) and localhost/sqlite-graphrag:<version>.
#
# The image's creation time and every file time in it are the last commit's
# time (SOURCE_DATE_EPOCH, as in build-release.sh), so the same commit and
# binary give the same image id. OCI labels: title, description, licenses,
# version (Cargo.toml), revision (the full commit id), created (the commit
# time, RFC 3339), and source when Cargo.toml names a repository.
#
# PODMAN_BUILD_OPTS: extra options for `podman build` (none by default).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v podman >/dev/null 2>&1 || { echo "needs podman (Debian package podman)" >&2; exit 1; }
binary=dist/bin/sqlite-graphrag
[ -x "$binary" ] || ./scripts/build-release.sh

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
repository=$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
revision=$(git rev-parse HEAD)
source_date_epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
created=$(date -u -d "@$source_date_epoch" +%Y-%m-%dT%H:%M:%SZ)
image=localhost/sqlite-graphrag

read -r -a build_opts <<<"${PODMAN_BUILD_OPTS:-}"
source_label=()
[ -z "$repository" ] || source_label=(--label "org.opencontainers.image.source=$repository")

# --no-cache: podman's layer cache would reuse a cached LABEL step built with
# other build arguments (another commit's revision and time).
podman build "${build_opts[@]}" --no-cache --timestamp "$source_date_epoch" \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" --build-arg "CREATED=$created" \
  "${source_label[@]}" -t "$image:latest" -t "$image:$version" -f Dockerfile .
podman image inspect --format '{{.Id}} created {{.Created}}' "$image:$version"
