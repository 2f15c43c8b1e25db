#!/usr/bin/env bash
# Builds the container image twice (offline, from dist/), checks the two
# builds are identical, runs remember and hybrid-search inside it with a
# mounted data dir, and shows that host and container processes share one
# slot cap through a mounted runtime dir.
#
# Options for this build machine (not part of the image): podman needs
# Debian's runc and lowered ulimits here; set PODMAN_RUN_OPTS to change them.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
binary=dist/bin/sqlite-graphrag
[ -x "$binary" ] || ./scripts/build-release.sh
image=localhost/sqlite-graphrag:test
read -r -a run_opts <<<"${PODMAN_RUN_OPTS:---runtime=runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096}"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "needs a static busybox (Debian busybox-static) to run commands in the container" >&2; exit 1; }

build() {
  podman build --quiet --timestamp 0 --build-arg "VERSION=$version" -t "$image" -f Dockerfile . >/dev/null
  podman image inspect --format '{{.Id}}' "$image"
}
first=$(build)
second=$(build)
echo "image ids: $first $second"
[ "$first" = "$second" ] || { echo "image builds differ" >&2; exit 1; }
echo "user: $(podman image inspect --format '{{.Config.User}}' "$image")"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 000
mkdir -p "$work/data" "$work/run"
# The runtime dir is shared by the host user and the container's user: it
# must be sticky (README "Slots"), or sqlite-graphrag refuses it.
chmod 0777 "$work/data"
chmod 1777 "$work/run"
host=(./"$binary" --runtime-dir "$work/run")
container() {
  podman run --rm "${run_opts[@]}" -v "$work/data:/data" -v "$work/run:/run/sqlite-graphrag" \
    -v "$busybox:/busybox:ro" "$image" "$@"
}

echo "== memory in the container"
container remember --name greeting --body "The container keeps memories in the mounted data dir"
container hybrid-search "where are memories kept" | grep -q '"name":"greeting"'
"$binary" --db "$work/data/graphrag.sqlite" read greeting | grep -q mounted
echo "ok: remembered in the container, found by hybrid-search, read on the host"

echo "== one cap for host and containers (N = 2)"
"${host[@]}" slots resize --max 2 >/dev/null
"${host[@]}" slots exec -- sleep 3 &
"${host[@]}" slots exec -- sleep 3 &
until "${host[@]}" slots status | grep -q '"held":2'; do sleep 0.1; done
set +e
container slots exec --wait 1 -- /busybox true >/dev/null 2>&1
code=$?
set -e
[ "$code" = 75 ] || { echo "container got a slot while the host held both (exit $code)" >&2; exit 1; }
wait
container slots exec --wait 5 -- /busybox true
echo "ok: the container waited for the host's holders (exit 75), then ran"

echo "== mixed storm: 6 host and 6 container processes, 2 slots"
log=$work/run/storm.log
: >"$log"
# Each record is one append of a few bytes, which Linux makes atomic on a
# local file system; enter is written after the slot is taken, exit before
# it is released, so the log order bounds the true overlap from below.
# $0 is expanded by the shell inside the container, not here.
# shellcheck disable=SC2016
entry='echo enter $0 >> /run/sqlite-graphrag/storm.log; /busybox sleep 0.3; echo exit $0 >> /run/sqlite-graphrag/storm.log'
host_entry="echo enter \$0 >> $log; sleep 0.3; echo exit \$0 >> $log"
for i in 1 2 3 4 5 6; do
  "${host[@]}" slots exec --wait 60 -- sh -c "$host_entry" "host$i" &
  container slots exec --wait 60 -- /busybox sh -c "$entry" "box$i" &
done
wait
awk '$1 == "enter" { n++; if (n > max) max = n } $1 == "exit" { n-- } END { print "entries: " NR / 2 ", most at once: " max; exit (max > 2 || NR != 24) }' "$log"
echo "ok: host and container holders never exceeded 2"
