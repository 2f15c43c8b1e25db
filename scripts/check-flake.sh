#!/usr/bin/env bash
# Checks the Nix flake without fetching nixpkgs (which this can't do
# offline):
# - flake.nix parses;
# - its outputs function, evaluated with a stand-in for nixpkgs that has
#   only the names the flake uses, gives for every system: packages.default
#   (plus packages.static and checks.static on Linux, the same derivation),
#   apps.default running the package's program, checks.build and
#   checks.clippy (cargo clippy --all-targets, -D warnings, on the package's
#   vendored crates) and no checks.fmt, a formatter, and a dev shell with
#   RUST_SRC_PATH; the package's tests get python3, openssl, zsh, fish,
#   man-db and groff (nativeCheckInputs) and tests/fakes' shebangs patched;
#   the package installs the shell completions and manual pages the built
#   binary generates (installShellFiles), only when the build machine can
#   run it (none in a cross build); the package
#   version is Cargo.toml's plus +git.<shortRev> (+dirty without a commit),
#   valid in a store path name; every path the source set names exists;
# - every path flake.nix names is tracked by git;
# - flake.lock pins nixpkgs to a full revision with a narHash, on the branch
#   flake.nix asks for.
# Not checked here: that nixpkgs has these names with these meanings, and
# that the derivations build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nix-instantiate >/dev/null || { echo "needs nix-instantiate (Debian nix-bin)" >&2; exit 1; }

nix-instantiate --parse flake.nix >/dev/null
echo "ok: flake.nix parses"

# ${...} below is Nix interpolation, not the shell's.
# shellcheck disable=SC2016
outputs_json=$(nix-instantiate --eval --strict --json -E '
let
  flake = import ./flake.nix;
  stubDerivation = name: attrs: attrs // {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  lib = {
    genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
    optionalAttrs = condition: attrs: if condition then attrs else { };
    optionalString = condition: text: if condition then text else "";
    getExe = drv: "${drv}/bin/${drv.meta.mainProgram}";
    licenses.mit = "MIT";
    platforms.unix = [ ];
    fileset = {
      unions = paths: paths;
      toSource = { root, fileset }:
        assert builtins.all builtins.pathExists fileset;
        "/nix/store/00000000000000000000000000000000-source";
    };
  };
  pkgsFor = system: isStatic: canRun: {
    stdenv = {
      hostPlatform = { inherit system; isLinux = builtins.match ".*-linux" system != null; };
      buildPlatform.canExecute = host: canRun;
      mkDerivation = args: stubDerivation "${args.pname}-${args.version}" args;
    };
    rustPlatform = {
      buildRustPackage = args: stubDerivation "${args.pname}-${args.version}" (args // {
        inherit isStatic;
        cargoDeps = stubDerivation "${args.pname}-${args.version}-vendor" { inherit (args.cargoLock) lockFile; };
      });
      cargoSetupHook = stubDerivation "cargo-setup-hook" { };
      rustLibSrc = stubDerivation "rust-lib-src" { };
    };
    pkgsStatic = pkgsFor system true canRun;
    mkShell = args: stubDerivation "shell" args;
    cargo = stubDerivation "cargo" { };
    rustc = stubDerivation "rustc" { };
    clippy = stubDerivation "clippy" { };
    rustfmt = stubDerivation "rustfmt" { };
    rust-analyzer = stubDerivation "rust-analyzer" { };
    python3 = stubDerivation "python3" { };
    openssl = stubDerivation "openssl" { };
    zsh = stubDerivation "zsh" { };
    fish = stubDerivation "fish" { };
    man-db = stubDerivation "man-db" { };
    groff = stubDerivation "groff" { };
    installShellFiles = stubDerivation "install-shell-files" { };
    shellcheck = stubDerivation "shellcheck" { };
    hyperfine = stubDerivation "hyperfine" { };
    nixfmt = stubDerivation "nixfmt" { };
  };
  nixpkgsWith = canRun: { inherit lib; legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ] (system: pkgsFor system false canRun); };
  evaluateWith = nixpkgs: extra: let self = flake.outputs { inherit self nixpkgs; } // extra; in self;
  evaluate = evaluateWith (nixpkgsWith true);
  committed = evaluate { shortRev = "1234567"; };
  dirty = evaluate { };
  cross = evaluateWith (nixpkgsWith false) { shortRev = "1234567"; };
in
builtins.mapAttrs (system: packages: {
  packages = builtins.attrNames packages;
  apps = builtins.attrNames committed.apps.${system};
  checks = builtins.attrNames committed.checks.${system};
  devShells = builtins.attrNames committed.devShells.${system};
  formatter = committed.formatter.${system}.name;
  version = packages.default.version;
  dirtyVersion = dirty.packages.${system}.default.version;
  program = committed.apps.${system}.default.program;
  mainProgram = packages.default.meta.mainProgram;
  staticIsPackage = if packages ? static then committed.checks.${system}.static.name == packages.static.name && packages.static.isStatic && !packages.default.isStatic else null;
  clippyBuild = committed.checks.${system}.clippy.buildPhase;
  clippyVendorsCrates = committed.checks.${system}.clippy.cargoDeps.name == packages.default.cargoDeps.name;
  rustSrcPath = committed.devShells.${system}.default.RUST_SRC_PATH or null;
  checkInputs = map (drv: drv.name) (packages.default.nativeCheckInputs or [ ]);
  postPatch = packages.default.postPatch or "";
  buildInputs = map (drv: drv.name) (packages.default.nativeBuildInputs or [ ]);
  postInstall = packages.default.postInstall or "";
  staticPostInstall = if packages ? static then packages.static.postInstall or "" else null;
  crossPostInstall = cross.packages.${system}.default.postInstall or "";
}) committed.packages
')
cargo_version=$(cargo metadata --no-deps --locked --format-version 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["packages"][0]["version"])')

python3 - "$outputs_json" "$cargo_version" <<'PY'
import json, re, sys
outputs, cargo_version = json.loads(sys.argv[1]), sys.argv[2]
# What Nix accepts in a store path name (and so in a derivation's version).
store_name = re.compile(r"[A-Za-z0-9+\-._?=]+")
assert set(outputs) == {"x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin"}, sorted(outputs)
for system, got in sorted(outputs.items()):
    linux = system.endswith("-linux")
    def expect(what, actual, wanted):
        assert actual == wanted, f"{system}: {what} is {actual}, expected {wanted}"
    expect("packages", got["packages"], ["default", "static"] if linux else ["default"])
    expect("checks", got["checks"], ["build", "clippy", "static"] if linux else ["build", "clippy"])
    expect("apps", got["apps"], ["default"])
    expect("devShells", got["devShells"], ["default"])
    expect("formatter", got["formatter"], "nixfmt")
    expect("version", got["version"], f"{cargo_version}+git.1234567")
    expect("version without a commit", got["dirtyVersion"], f"{cargo_version}+dirty")
    assert store_name.fullmatch(got["version"]) and store_name.fullmatch(got["dirtyVersion"]), f"{system}: version not valid in a store path"
    assert got["program"].endswith("/bin/" + got["mainProgram"]), f"{system}: apps.default runs {got['program']}"
    if linux:
        assert got["staticIsPackage"], f"{system}: checks.static is not packages.static from pkgsStatic"
    command = re.search(r"cargo clippy[^\n]*", got["clippyBuild"])
    assert command and "--all-targets" in command.group(0) and "-D warnings" in command.group(0) \
        and "--offline" in command.group(0), f"{system}: checks.clippy runs {command and command.group(0)}"
    assert got["clippyVendorsCrates"], f"{system}: checks.clippy does not use the package's cargoDeps"
    assert got["rustSrcPath"] == "/nix/store/00000000000000000000000000000000-rust-lib-src", \
        f"{system}: RUST_SRC_PATH is {got['rustSrcPath']}"
    expect("the tests' tools (nativeCheckInputs)", sorted(got["checkInputs"]),
           ["fish", "groff", "man-db", "openssl", "python3", "zsh"])
    expect("the build's tools (nativeBuildInputs)", got["buildInputs"], ["install-shell-files"])
    for install in [got["postInstall"]] + ([got["staticPostInstall"]] if linux else []):
        for shell in ["bash", "zsh", "fish"]:
            assert re.search(rf"--{shell} <\(\$out/bin/sqlite-graphrag completions {shell}\)", install), \
                f"{system}: postInstall does not install the {shell} completion: {install!r}"
        assert "installShellCompletion --cmd sqlite-graphrag" in install, f"{system}: {install!r}"
        assert re.search(r"sqlite-graphrag man --output-dir (\S+) .*\n\s*installManPage \1/\*\.1", install), \
            f"{system}: postInstall does not install the manual pages: {install!r}"
    expect("postInstall when the build machine cannot run the binary", got["crossPostInstall"], "")
    assert re.search(r"^\s*patchShebangs tests/fakes\s*$", got["postPatch"], re.M), \
        f"{system}: postPatch does not patch the fakes' shebangs: {got['postPatch']!r}"
print(f"ok: outputs for {', '.join(sorted(outputs))}: packages, apps, checks (build, clippy, static on Linux), "
      f"formatter, dev shell with RUST_SRC_PATH; version {cargo_version}+git.<shortRev> or +dirty; "
      f"the tests get python3, openssl, zsh, fish, man-db and groff, and the fakes' shebangs are patched; "
      f"completions and manual pages are installed, except in a cross build")
PY

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
