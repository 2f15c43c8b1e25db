#!/usr/bin/env bash
# Builds a Debian bookworm base image offline and imports it into podman
# under the name IMAGE (e.g. docker.io/library/debian:bookworm-slim), unless
# an image of that name exists: mmdebstrap (minbase) from the apt mirror this
# machine uses, then `podman import`. Used by the container and README
# install tests, which cannot pull from a registry.
#
# usage: debian-base-image.sh IMAGE
set -euo pipefail
image=${1:?usage: debian-base-image.sh IMAGE}
podman image exists "$image" && exit 0
echo "building $image offline (mmdebstrap minbase bookworm, then podman import)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mirror=(http://deb.debian.org/debian)
[ -f /etc/apt/sources.list.d/debian.sources ] && mirror=(/etc/apt/sources.list.d/debian.sources)
mmdebstrap --quiet --variant=minbase bookworm "$work/debian.tar" "${mirror[@]}"
podman import --quiet --change 'CMD ["bash"]' "$work/debian.tar" "$image" >/dev/null
