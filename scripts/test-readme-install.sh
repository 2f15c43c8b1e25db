#!/usr/bin/env bash
# Runs every command block of the README's "Install" section, in order, the
# way a reader would: from a fresh clone of HEAD in a scratch folder, with a
# scratch HOME (its own CARGO_HOME; RUSTUP_HOME stays the machine's so the
# installed toolchains are used) and ~/.local/bin and ~/.cargo/bin on PATH.
#
#   sh blocks          each run by `bash -euo pipefail` from the clone's root
#   dockerfile blocks  written to the file named by their first-line comment
#   nix commands       parse-only (nixpkgs cannot be fetched here): the
#                      subcommand and flags are accepted by this nix, the
#                      experimental features they need are on, and the flake
#                      output they name exists (flake.nix evaluated with a stub
#                      nixpkgs); nothing is built
#
# Prints a table (PASS / FAIL / PARSE-ONLY / NOT RUN, seconds per block) and
# exits 1 if any block fails; blocks after a failure are not run.
#
# Settings (environment):
#   README=path        the README to take the blocks from (default: the
#                      clone's); the blocks still run in a clone of HEAD
#   ONLY=3,4           run only these blocks (numbered as in the table)
#   CONTAINERS_CONF    podman's configuration for this machine (default
#                      scripts/podman-test.conf: runc, lowered ulimits)
#   KEEP=1             keep the scratch folder
#
# Host state the blocks create (the group graphrag, /run/graphrag, the
# images sqlite-graphrag and my-ci) is removed afterwards unless it existed
# before. The base image docker.io/library/debian:bookworm-slim cannot be
# pulled here: when absent it is built with mmdebstrap (minbase, bookworm)
# from this machine's Debian mirror and imported under that name, and kept.
set -euo pipefail
readme=${README:+$(realpath "$README")}
cd "$(dirname "$0")/.."
root=$(pwd)
commit=$(git rev-parse HEAD)
[ -z "$(git status --porcelain)" ] || echo "note: uncommitted changes are not tested (the clone is of HEAD, $commit)"
scratch=$(mktemp -d /tmp/readme-install.XXXXXX)
clone=$scratch/checkout
home=$scratch/home
mkdir -p "$home" "$scratch/blocks" "$scratch/tools" "$scratch/nix-conf"
parse_log=$scratch/parse-only.log
: >"$parse_log"

# --- host state to restore afterwards -----------------------------------
group_existed=$(getent group graphrag >/dev/null && echo yes || echo no)
rundir_existed=$([ -e /run/graphrag ] && echo yes || echo no)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
images=(localhost/sqlite-graphrag:latest "localhost/sqlite-graphrag:$version" localhost/my-ci:latest)
absent_images=()
for image in "${images[@]}"; do
  podman image exists "$image" || absent_images+=("$image")
done
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  [ "$rundir_existed" = yes ] || rm -rf /run/graphrag
  if [ "$group_existed" = no ] && getent group graphrag >/dev/null; then groupdel graphrag; fi
  for image in "${absent_images[@]}"; do
    podman image exists "$image" && podman rmi --force "$image" >/dev/null
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "scratch folder kept: $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

# --- the blocks ----------------------------------------------------------
git clone --quiet "$root" "$clone"
git -C "$clone" checkout --quiet --detach "$commit"
readme=${readme:-$clone/README.md}
# One file per fenced block of the Install section: NN.<language>, plus
# NN.line with the README line the block starts on.
awk -v out="$scratch/blocks" '
  /^## / { section = ($0 ~ /^## Install[[:space:]]*$/) }
  !section { next }
  fence && /^```[[:space:]]*$/ { fence = 0; close(file); next }
  fence { print > file; next }
  /^```/ {
    n++; fence = 1; lang = substr($0, 4); gsub(/[[:space:]]/, "", lang)
    if (lang == "") lang = "none"
    file = sprintf("%s/%02d.%s", out, n, lang)
    printf "" > file
    print NR > sprintf("%s/%02d.line", out, n)
  }
' "$readme"
mapfile -t blocks < <(find "$scratch/blocks" -name '[0-9][0-9].*' ! -name '*.line' | sort)
[ "${#blocks[@]}" -gt 0 ] || { echo "no fenced blocks between '## Install' and the next '## ' in $readme" >&2; exit 1; }

# --- the scratch user environment ---------------------------------------
# The rustup proxies (cargo, rustc, ...) of this machine, without anything
# else that was installed into its ~/.cargo/bin.
rustup_bin=$(command -v rustup)
for tool in cargo cargo-clippy cargo-fmt clippy-driver rustc rustdoc rustfmt rustup; do
  ln -s "$rustup_bin" "$scratch/tools/$tool"
done
CONTAINERS_CONF=${CONTAINERS_CONF:-$root/scripts/podman-test.conf}
# `nix` in the blocks is this parse-only stand-in; it calls the real nix.
cat >"$scratch/tools/nix" <<'SHIM'
#!/usr/bin/env bash
# Checks a nix command line without running it: this nix accepts the
# subcommand and its flags, the experimental features it needs are on (from
# the same flags and nix.conf files), and each flake output it names exists.
set -euo pipefail
line="nix $*"
real=$README_INSTALL_NIX
err=$(mktemp)
trap 'rm -f "$err"' EXIT
fail() { echo "parse-only check failed: $line: $*" >&2; exit 1; }
globals=()
while [ $# -gt 0 ] && [[ $1 == -* ]]; do
  case $1 in
    --option) globals+=("$1" "$2" "$3"); shift 3 ;;
    --extra-experimental-features | --experimental-features | --store) globals+=("$1" "$2"); shift 2 ;;
    *) globals+=("$1"); shift ;;
  esac
done
[ $# -gt 0 ] || fail "no subcommand"
command=("$1")
shift
case ${command[0]} in
  profile | flake | registry | store | nar | hash | key | derivation | realisation)
    [ $# -gt 0 ] && { command+=("$1"); shift; } ;;
esac
args=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
"$real" "${globals[@]}" "${command[@]}" "${args[@]}" --help >/dev/null 2>"$err" || fail "$(cat "$err")"
config=$("$real" "${globals[@]}" show-config 2>"$err") || fail "$(cat "$err")"
warnings=$(cat "$err")
[ -z "$warnings" ] || fail "nix warns about its configuration: $warnings"
features=" $(sed -n 's/^experimental-features = //p' <<<"$config") "
for feature in nix-command flakes; do
  [[ $features == *" $feature "* ]] || fail "experimental feature $feature is off (on: $features)"
done
system=$("$README_INSTALL_NIX_INSTANTIATE" --eval --json -E builtins.currentSystem | tr -d '"')
installables=()
for arg in "${args[@]}"; do [[ $arg == -* ]] || installables+=("$arg"); done
[ "${#installables[@]}" -gt 0 ] || installables=(.)
found=()
for installable in "${installables[@]}"; do
  ref=${installable%%#*}
  attr=
  [[ $installable != *"#"* ]] || attr=${installable#*#}
  case $ref in
    . | ./ | "$PWD" | path:.) ;;
    *) fail "flake reference $ref cannot be checked offline (only the current folder)" ;;
  esac
  [ -f flake.nix ] || fail "no flake.nix in $PWD"
  s=$system
  case "${command[*]}" in
    run) candidates=${attr:+"apps.$s.$attr packages.$s.$attr legacyPackages.$s.$attr"} ;;
    develop | shell) candidates=${attr:+"devShells.$s.$attr packages.$s.$attr legacyPackages.$s.$attr"} ;;
    *) candidates=${attr:+"packages.$s.$attr legacyPackages.$s.$attr"} ;;
  esac
  if [ -z "$attr" ]; then
    case "${command[*]}" in
      run) candidates="apps.$s.default defaultApp.$s packages.$s.default defaultPackage.$s" ;;
      develop) candidates="devShells.$s.default devShell.$s packages.$s.default defaultPackage.$s" ;;
      "flake check") candidates="checks.$s" ;;
      *) candidates="packages.$s.default defaultPackage.$s" ;;
    esac
  fi
  # flake.nix's outputs, evaluated with a stand-in for nixpkgs that has only
  # what naming the outputs needs; no output's value is evaluated.
  match=$("$README_INSTALL_NIX_INSTANTIATE" --eval --json --argstr dir "$PWD" --argstr candidates "$candidates" -E '
    { dir, candidates }:
    let
      flake = import (dir + "/flake.nix");
      genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      nixpkgs = {
        lib = { inherit genAttrs; optionalAttrs = cond: set: if cond then set else { }; };
        legacyPackages = genAttrs systems (system: {
          stdenv.hostPlatform = { inherit system; isLinux = builtins.match ".*-linux" system != null; };
        });
      };
      inputs = builtins.mapAttrs (name: _: if name == "nixpkgs" then nixpkgs else throw "no stand-in for input ${name}") (flake.inputs or { });
      outputs = flake.outputs (inputs // { self = outputs; });
      words = s: builtins.filter (w: builtins.isString w && w != "") (builtins.split "[ .]" s);
      walk = set: names:
        if names == [ ] then set
        else if builtins.isAttrs set && set ? ${builtins.head names} then walk set.${builtins.head names} (builtins.tail names)
        else null;
      has = path:
        let
          names = words path;
          parent = walk outputs (builtins.genList (builtins.elemAt names) (builtins.length names - 1));
        in builtins.isAttrs parent && parent ? ${builtins.elemAt names (builtins.length names - 1)};
      found = builtins.filter has (builtins.filter (w: builtins.isString w && w != "") (builtins.split " " candidates));
    in if found == [ ] then "" else builtins.head found' 2>&1) || fail "flake.nix does not evaluate: $match"
  match=$(tr -d '"' <<<"$match")
  [ -n "$match" ] || fail "flake has none of: $candidates"
  found+=("$match")
done
summary="$line -> accepted by $("$real" --version), features on, flake output ${found[*]} exists"
echo "parse-only: $summary"
echo "$summary" >>"$README_INSTALL_PARSE_LOG"
SHIM
chmod 0755 "$scratch/tools/nix"
user_env=(
  env -i
  HOME="$home"
  USER="$(id -un)" LOGNAME="$(id -un)" SHELL=/bin/bash LANG=C.UTF-8 TERM="${TERM:-dumb}"
  PATH="$home/.local/bin:$home/.cargo/bin:$scratch/tools:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  CARGO_HOME="$home/.cargo"
  RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  CONTAINERS_CONF="$CONTAINERS_CONF"
  # The machine's /etc/nix stays out: only the README's lines turn features on.
  NIX_CONF_DIR="$scratch/nix-conf"
  README_INSTALL_PARSE_LOG="$parse_log"
  README_INSTALL_NIX="$(command -v nix || echo nix-is-not-installed)"
  README_INSTALL_NIX_INSTANTIATE="$(command -v nix-instantiate || echo nix-instantiate-is-not-installed)"
)

# --- the Debian base image the README's Containerfile names --------------
base_image=docker.io/library/debian:bookworm-slim
if grep -qs "FROM $base_image" "$scratch"/blocks/*.dockerfile; then
  "$root/scripts/debian-base-image.sh" "$base_image"
fi

# --- run -----------------------------------------------------------------
selected() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$((10#$1)),"* ]]; }
results=()
failed=0
for block in "${blocks[@]}"; do
  name=$(basename "$block")
  number=${name%%.*}
  lang=${name#*.}
  line=$(cat "$scratch/blocks/$number.line")
  label="$((10#$number)) $lang (README line $line)"
  if [ "$failed" = 1 ] || ! selected "$number"; then
    results+=("$label|NOT RUN|-")
    continue
  fi
  echo
  echo "== block $label"
  sed 's/^/   | /' "$block"
  parse_before=$(wc -l <"$parse_log")
  start=$EPOCHREALTIME
  status=PASS
  case $lang in
    sh)
      (cd "$clone" && "${user_env[@]}" bash -euo pipefail "$block") || status=FAIL
      ;;
    dockerfile)
      target=$(sed -n '1s/^#[[:space:]]*\([^[:space:]]*\)[[:space:]]*$/\1/p' "$block")
      if [ -n "$target" ]; then
        cp "$block" "$clone/$target"
        echo "written to $target"
      else
        echo "the block's first line must be a comment naming its file (# Containerfile.ci)" >&2
        status=FAIL
      fi
      ;;
    *)
      echo "no way to run a '$lang' block" >&2
      status=FAIL
      ;;
  esac
  seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  if [ "$status" = PASS ] && [ "$(wc -l <"$parse_log")" != "$parse_before" ]; then
    status=PARSE-ONLY
  fi
  [ "$status" != FAIL ] || failed=1
  echo "-- block $((10#$number)): $status (${seconds} s)"
  results+=("$label|$status|$seconds")
done

echo
echo "README install test: commit $commit, $(date -u +%Y-%m-%dT%H:%MZ), $(uname -srm)"
printf '%-34s %-10s %8s\n' "block" "result" "seconds"
for row in "${results[@]}"; do
  IFS='|' read -r label status seconds <<<"$row"
  printf '%-34s %-10s %8s\n' "$label" "$status" "$seconds"
done
if [ -s "$parse_log" ]; then
  echo "parse-only (checked, not built: nixpkgs cannot be fetched here):"
  sed 's/^/  /' "$parse_log"
fi
exit "$failed"
