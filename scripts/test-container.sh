#!/usr/bin/env bash
# Tests the container image and a runtime folder shared by host users and
# containers, as the README's "Install" section sets them up:
#
#   1. scripts/build-image.sh twice gives the same image id, with the OCI
#      labels and the last commit's time as its creation date;
#   2. remember and hybrid-search run in the image as the calling user
#      (--user uid:gid) with a mounted data folder, and the database is theirs;
#   3. a Debian-based CI image gets the binary exactly as the README's
#      Containerfile.ci does;
#   4. a folder made as the README says (install -d -m 3770 -g graphrag) is
#      one cap of 2 for host processes as root and as two other uids of the
#      group, containers of the image (uid 65532) and of the CI image
#      (another uid): at most 2 at once, everyone finishes, `slots status`
#      works for every party and shows a container's holder to the host as
#      "pid_namespace": "other"; a pool first made by a container uid with
#      umask 022 works for host users; a group-writable folder without the
#      sticky bit is refused (exit 5).
#
# Runs as root. Settings (environment):
#   CONTAINERS_CONF  podman's configuration for this machine (default
#                    scripts/podman-test.conf: runtime = "runc", lowered ulimits)
#   HOST_BINARY      the binary the host processes run (default
#                    dist/bin/sqlite-graphrag, built by build-image.sh)
# The group graphrag is created if missing and then removed again; the
# base image docker.io/library/debian:bookworm-slim is built offline with
# mmdebstrap when missing, and kept.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root: the test switches between users" >&2; exit 1; }
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "needs a static busybox (Debian busybox-static) to run commands in the image" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
image=localhost/sqlite-graphrag
ci_image=localhost/sqlite-graphrag-ci-test
base_image=docker.io/library/debian:bookworm-slim
work=$(mktemp -d)
# Other uids walk through this folder to the shared ones.
chmod 0755 "$work"
group_existed=$(getent group graphrag >/dev/null && echo yes || echo no)
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  # Background holders and storm processes still running after a failure.
  touch "$work/log/release" 2>/dev/null || true
  local running
  mapfile -t running < <(jobs -p)
  [ "${#running[@]}" = 0 ] || { kill "${running[@]}" 2>/dev/null || true; wait; }
  ! podman image exists "$ci_image" || podman rmi --force "$ci_image" >/dev/null
  rm -rf "$work"
  if [ "$group_existed" = no ] && getent group graphrag >/dev/null; then groupdel graphrag; fi
}
trap cleanup EXIT
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/scripts/podman-test.conf}
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== image: scripts/build-image.sh twice"
build() {
  scripts/build-image.sh >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "build-image.sh failed"; }
  podman image inspect --format '{{.Id}}' "$image:$version"
}
first=$(build)
second=$(build)
echo "image ids: $first $second"
[ "$first" = "$second" ] || fail "two builds of one commit gave different images"
[ "$(podman image inspect --format '{{.Id}}' "$image:latest")" = "$first" ] || fail "$image:latest is not $image:$version"
label() { podman image inspect --format "{{index .Labels \"org.opencontainers.image.$1\"}}" "$image:$version"; }
commit_time=$(git log -1 --format=%ct)
commit_rfc3339=$(date -u -d "@$commit_time" +%Y-%m-%dT%H:%M:%SZ)
[ "$(label version)" = "$version" ] || fail "label version is '$(label version)', not $version"
[ "$(label revision)" = "$(git rev-parse HEAD)" ] || fail "label revision is '$(label revision)', not HEAD"
[ "$(label created)" = "$commit_rfc3339" ] || fail "label created is '$(label created)', not $commit_rfc3339"
[ "$(label licenses)" = MIT ] || fail "label licenses is '$(label licenses)'"
[ "$(label title)" = sqlite-graphrag ] || fail "label title is '$(label title)'"
created=$(podman image inspect --format '{{.Created.Unix}}' "$image:$version")
[ "$created" = "$commit_time" ] || fail "image created at $(date -u -d "@$created" +%FT%TZ), the last commit at $commit_rfc3339"
user=$(podman image inspect --format '{{.Config.User}}' "$image:$version")
[ "$user" = 65532:65532 ] || fail "the image runs as '$user', not 65532:65532"
echo "ok: same id; labels version $version, revision HEAD, created $commit_rfc3339 (= image creation time); user $user"

host_binary=$work/bin/sqlite-graphrag
install -D -m 0755 "${HOST_BINARY:-dist/bin/sqlite-graphrag}" "$host_binary"

echo "== memory in the container, as the calling user"
# As the README runs it, then as an unprivileged uid owning its folder.
for ids in "$(id -u):$(id -g)" 1003:1003; do
  memory=$work/memory-${ids%%:*}
  install -d -o "${ids%%:*}" -g "${ids#*:}" "$memory"
  podman run --rm --user "$ids" -v "$memory:/data" "$image" \
    remember --name first-note --body "Container jobs keep their memories in ./memory" >/dev/null
  podman run --rm --user "$ids" -v "$memory:/data" "$image" \
    hybrid-search "where do container jobs keep memories" | grep -q '"name":"first-note"' ||
    fail "hybrid-search in the container did not find the memory (as $ids)"
  "$host_binary" --db "$memory/graphrag.sqlite" read first-note | grep -q 'in ./memory' ||
    fail "the host did not read the container's memory (as $ids)"
  owner=$(stat -c %u:%g "$memory/graphrag.sqlite")
  [ "$owner" = "$ids" ] || fail "the database belongs to $owner, not to the calling user $ids"
done
echo "ok: remembered and found in the container as root and as 1003; the database belongs to the caller"

echo "== CI image: the binary copied as the README's Containerfile.ci does"
./scripts/debian-base-image.sh "$base_image"
mkdir "$work/ci"
awk '/^## / { install = ($0 ~ /^## Install/) } install && /^```dockerfile/ { block = 1; next } block && /^```/ { exit } block' \
  README.md >"$work/ci/Containerfile.ci"
grep -q '^COPY --from=localhost/sqlite-graphrag ' "$work/ci/Containerfile.ci" || fail "no Containerfile.ci block in the README"
podman build --quiet -t "$ci_image" -f "$work/ci/Containerfile.ci" "$work/ci" >/dev/null
ci_version=$(podman run --rm "$ci_image" sqlite-graphrag --version)
[ "$ci_version" = "$(podman run --rm "$image" --version)" ] || fail "the CI image runs '$ci_version'"
echo "ok: $ci_image runs $ci_version"

echo "== shared runtime folder: host users, containers of both images, 2 slots"
getent group graphrag >/dev/null || groupadd --system graphrag
gid=$(getent group graphrag | cut -d: -f3)
shared=$work/shared
install -d -m 3770 -g graphrag "$shared"
mkdir -m 0777 "$work/log"
log=$work/log/storm.log
install -m 0666 /dev/null "$log"
# The parties; each runs its arguments in the shared folder's pools.
as_root() { SQLITE_GRAPHRAG_RUNTIME_DIR=$1 "$host_binary" "${@:2}"; }
as_uid() {
  SQLITE_GRAPHRAG_RUNTIME_DIR=$2 setpriv --reuid "$1" --regid "$1" --groups "$gid" -- "$host_binary" "${@:3}"
}
as_advu() { as_uid 1003 "$@"; }
as_tuser() { as_uid 1004 "$@"; }
in_image() {
  podman run --rm --group-add "$gid" -v "$1:/run/sqlite-graphrag" -v "$work/log:/log" \
    -v "$busybox:/busybox:ro" "$image" "${@:2}"
}
in_ci() {
  podman run --rm --user 1005:1005 --group-add "$gid" -v "$1:/run/graphrag" -v "$work/log:/log" \
    "$ci_image" sqlite-graphrag "${@:2}"
}
parties=(as_root as_advu as_tuser in_image in_ci)

as_root "$shared" slots resize --max 2 >/dev/null
for party in "${parties[@]}"; do
  "$party" "$shared" slots status >"$work/status.json" || fail "slots status failed for $party"
  jq -e '.max == 2 and .free == 2' "$work/status.json" >/dev/null || fail "$party sees $(cat "$work/status.json")"
done
echo "ok: slots status works for ${parties[*]}"

# Each record is one short append, which Linux makes atomic; enter is written
# after the slot is taken and exit before it is released, so the log's order
# bounds the true overlap from below.
storm() {
  local dir=$1 rounds=$2 pids=() names=() party i name code failures=0 runner file pause
  : >"$log"
  for i in $(seq "$rounds"); do
    for party in "${parties[@]}"; do
      name=$party-$i
      case $party in
        in_image) runner=(/busybox sh) pause="/busybox sleep" file=/log/storm.log ;;
        in_ci) runner=(sh) pause=sleep file=/log/storm.log ;;
        *) runner=(sh) pause=sleep file=$log ;;
      esac
      # $0 is the process's name, expanded by the shell that writes the record.
      # shellcheck disable=SC2016
      "$party" "$dir" slots exec --wait 300 -- "${runner[@]}" -c \
        'echo "enter $0" >> '"$file; $pause 0.3; "'echo "exit $0" >> '"$file" "$name" &
      pids+=($!)
      names+=("$name")
    done
  done
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then :; else
      code=$?
      echo "${names[$i]} exited with $code" >&2
      failures=$((failures + 1))
    fi
  done
  [ "$failures" = 0 ] || fail "$failures of ${#pids[@]} processes failed"
  awk -v expected="${#pids[@]}" '
    $1 == "enter" { n++; if (n > max) max = n; entered[$2]++ }
    $1 == "exit" { n--; left[$2]++ }
    END {
      for (name in entered) if (entered[name] != 1 || left[name] != 1) bad++
      printf "%d processes, %d records, most at once: %d\n", expected, NR, max
      exit (max > 2 || NR != 2 * expected || length(entered) != expected || bad > 0)
    }' "$log" || fail "more than 2 at once, or a process did not enter and leave exactly once"
}
start=$EPOCHREALTIME
storm "$shared" 3
echo "ok: host (root, 1003, 1004) and containers (65532, 1005) never exceeded 2; all exited 0 ($(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s)"

# Waits until the host's `slots status` of a folder matches a jq test.
wait_for_status() {
  local deadline=$((SECONDS + 120))
  until as_root "$1" slots status | jq -e "$2" >/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "slots status never matched $2"
    sleep 0.2
  done
}
# A container holds a slot; the host sees it in another pid namespace, and
# a container sees the host's holder the same way. Both hold until
# $work/log/release exists.
in_image "$shared" slots exec --timeout 120 -- /busybox sh -c 'until [ -e /log/release ]; do /busybox sleep 0.1; done' &
holder=$!
wait_for_status "$shared" '.held == 1'
as_root "$shared" slots status >"$work/status.json"
jq -e '[.slots[] | select(.held)] | length == 1 and (.[0].pid_namespace == "other") and (.[0].alive == null)' \
  "$work/status.json" >/dev/null || fail "the host does not see the container's holder as another pid namespace: $(cat "$work/status.json")"
as_root "$shared" slots exec --timeout 120 -- sh -c "until [ -e $work/log/release ]; do sleep 0.1; done" &
host_holder=$!
wait_for_status "$shared" '.held == 2'
in_ci "$shared" slots status >"$work/status.json"
jq -e '[.slots[] | select(.held) | .pid_namespace] | sort == ["other", "other"]' "$work/status.json" >/dev/null ||
  fail "the CI container does not see both holders in other pid namespaces: $(cat "$work/status.json")"
# Both slots are held: nobody gets one, whichever party asks.
for party in "${parties[@]}"; do
  set +e
  "$party" "$shared" slots exec --wait 0.5 -- true >/dev/null 2>&1
  code=$?
  set -e
  [ "$code" = 75 ] || fail "$party got a slot while both were held (exit $code)"
done
touch "$work/log/release"
wait "$holder" || fail "the container's holder failed"
wait "$host_holder" || fail "the host's holder failed"
wait_for_status "$shared" '.held == 0'
echo "ok: a container's holder shows as pid_namespace \"other\" with alive null; with both slots held every party got exit 75"

echo "== shared runtime folder: a pool first made by a container uid with umask 022"
shared=$work/shared-by-container
install -d -m 3770 -g graphrag "$shared"
podman run --rm --user 1005:1005 --group-add "$gid" -v "$shared:/run/graphrag" "$ci_image" \
  sh -c 'umask 022 && sqlite-graphrag slots exec --max 2 -- true'
modes=$(cd "$shared" && stat -c '%n %a %u:%g' llm llm/pool.json llm/slot-0.lock llm/slot-1.lock)
echo "$modes" | awk -v gid="$gid" '
  { print "  " $0 }
  $1 == "llm" { ok += ($2 == "3770" && $3 == "1005:" gid) }
  $1 != "llm" { ok += ($2 == "660" && $3 == "1005:" gid) }
  END { exit ok != 4 }' || fail "the pool does not have the folder's permission bits and group"
storm "$shared" 2
echo "ok: pool files took the folder's bits (not the umask); host users and containers then shared it"

echo "== refusal: a group-writable folder without the sticky bit"
loose=$work/no-sticky
install -d -m 2770 -g graphrag "$loose"
for party in as_root as_advu in_image; do
  set +e
  "$party" "$loose" slots status >/dev/null 2>"$work/error"
  code=$?
  set -e
  [ "$code" = 5 ] || fail "$party: slots status in a folder without the sticky bit exited $code, not 5"
done
[ -z "$(ls -A "$loose")" ] || fail "something was created in the refused folder: $(ls -A "$loose")"
echo "ok: refused with exit 5, nothing created: $(head -n 1 "$work/error")"
