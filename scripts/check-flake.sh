#!/usr/bin/env bash
# Checks the Nix flake without fetching nixpkgs (which this can't do
# offline): flake.nix parses; the version it reads is Cargo.toml's; every
# path it names is in the tree and tracked by git; flake.lock pins nixpkgs
# to a full revision with a narHash, on the branch flake.nix asks for.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nix-instantiate >/dev/null || { echo "needs nix-instantiate (Debian nix-bin)" >&2; exit 1; }

nix-instantiate --parse flake.nix >/dev/null
echo "ok: flake.nix parses"

flake_version=$(nix-instantiate --eval --json -E '(builtins.fromTOML (builtins.readFile ./Cargo.toml)).package.version')
cargo_version=$(cargo metadata --no-deps --locked --format-version 1 | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["packages"][0]["version"]))')
[ "$flake_version" = "$cargo_version" ] || { echo "flake version $flake_version != Cargo.toml $cargo_version" >&2; exit 1; }
echo "ok: version $cargo_version"

untracked=$(grep -o '\./[A-Za-z0-9_.-][A-Za-z0-9_./-]*' flake.nix | sort -u | while read -r path; do
  [ -n "$(git ls-files -- "$path")" ] || echo "$path"
done)
[ -z "$untracked" ] || { echo "flake.nix names paths git does not track: $untracked" >&2; exit 1; }
echo "ok: every path flake.nix names is tracked"

python3 - <<'PY'
import json, re
lock = json.load(open("flake.lock"))
flake = open("flake.nix").read()
wanted = re.search(r'nixpkgs\.url = "github:NixOS/nixpkgs/([^"]+)"', flake).group(1)
root = lock["nodes"][lock["root"]]
node = lock["nodes"][root["inputs"]["nixpkgs"]]
locked, original = node["locked"], node["original"]
assert re.fullmatch(r"[0-9a-f]{40}", locked["rev"]), "nixpkgs is not pinned to a full revision"
assert re.fullmatch(r"sha256-[A-Za-z0-9+/]{43}=", locked["narHash"]), "nixpkgs has no narHash"
assert (locked["owner"], locked["repo"], locked["type"]) == ("NixOS", "nixpkgs", "github")
assert original.get("ref") == wanted, f"flake.lock tracks {original.get('ref')}, flake.nix asks for {wanted}"
print(f"ok: nixpkgs {wanted} pinned at {locked['rev']} ({locked['narHash']})")
PY
