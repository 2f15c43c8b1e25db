{
  description = "Persistent GraphRAG memory for AI coding agents in one SQLite file";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      lib = nixpkgs.lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      cargoToml = builtins.fromTOML (builtins.readFile ./Cargo.toml);

      # Only what the build and its tests read; docs and scripts stay out of the hash.
      src = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions [
          ./Cargo.toml
          ./Cargo.lock
          ./src
          ./data
          ./tests
          ./README.md
          ./LICENSE
        ];
      };

      # Cargo.toml's version plus the commit: 0.1.0+git.<shortRev>, or
      # 0.1.0+dirty for a tree with uncommitted changes. `+` and `.` are
      # allowed in store path names.
      version =
        cargoToml.package.version + (if self ? shortRev then "+git.${self.shortRev}" else "+dirty");

      package =
        pkgs:
        pkgs.rustPlatform.buildRustPackage {
          pname = cargoToml.package.name;
          inherit version;
          inherit src;
          # Every crate comes from crates.io, so the lock file alone pins them
          # (no output hash to update when it changes). aws-lc-sys (HTTPS
          # through rustls) compiles AWS-LC with stdenv's C compiler: outside
          # its FIPS mode it needs no CMake, Go, Perl or bindgen
          # (https://aws.github.io/aws-lc-rs/requirements/).
          cargoLock.lockFile = ./Cargo.lock;
          # The integration tests run the built binary against real SQLite
          # files and real processes; they need nothing from the network.
          doCheck = true;
          # The fake agent CLIs in tests/fakes are python3 scripts; the TLS
          # test serves HTTPS with python3 and a certificate openssl makes.
          # The completion scripts are loaded by bash -n, zsh -n and fish -n,
          # and the manual pages rendered by man, in tests/integration/test_describe.rs.
          nativeCheckInputs = [
            pkgs.python3
            pkgs.openssl
            pkgs.zsh
            pkgs.fish
            pkgs.man-db
            pkgs.groff
          ];
          nativeBuildInputs = [ pkgs.installShellFiles ];
          # Completions and manual pages come from the built binary itself,
          # so they can only be made when the build machine can run it.
          postInstall = lib.optionalString (pkgs.stdenv.buildPlatform.canExecute pkgs.stdenv.hostPlatform) ''
            installShellCompletion --cmd sqlite-graphrag \
              --bash <($out/bin/sqlite-graphrag completions bash) \
              --zsh <($out/bin/sqlite-graphrag completions zsh) \
              --fish <($out/bin/sqlite-graphrag completions fish)
            mkdir man-pages
            $out/bin/sqlite-graphrag man --output-dir man-pages > /dev/null
            installManPage man-pages/*.1
          '';
          # The fakes start with `#!/usr/bin/env python3`, and the build
          # sandbox has no /usr/bin/env.
          postPatch = ''
            patchShebangs tests/fakes
          '';
          meta = {
            description = cargoToml.package.description;
            license = lib.licenses.mit;
            mainProgram = "sqlite-graphrag";
            platforms = lib.platforms.unix;
          };
        };
    in
    {
      packages = forAllSystems (
        pkgs:
        {
          default = package pkgs;
        }
        # nixpkgs' static package set builds against musl, on Linux only.
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
          static = package pkgs.pkgsStatic;
        }
      );

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = lib.getExe self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };
      });

      checks = forAllSystems (
        pkgs:
        let
          system = pkgs.stdenv.hostPlatform.system;
        in
        {
          # Building the package runs `cargo test` (doCheck).
          build = self.packages.${system}.default;
          # Clippy on every target, warnings as errors, with the crates the
          # package vendors (its cargoDeps), so it needs no network either.
          # No format check: nixpkgs' rustfmt is not the one rust-toolchain.toml
          # pins, and the two may format differently.
          clippy = pkgs.stdenv.mkDerivation {
            pname = "${cargoToml.package.name}-clippy";
            inherit version src;
            inherit (package pkgs) cargoDeps;
            nativeBuildInputs = [
              pkgs.rustPlatform.cargoSetupHook
              pkgs.cargo
              pkgs.rustc
              pkgs.clippy
            ];
            buildPhase = ''
              runHook preBuild
              cargo clippy --offline --locked --all-targets -- -D warnings
              runHook postBuild
            '';
            installPhase = ''
              touch $out
            '';
          };
        }
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
          static = self.packages.${system}.static;
        }
      );

      # `nix fmt`: in nixos-25.11, nixfmt is the RFC 166 style
      # (nixfmt-rfc-style is its deprecated alias there).
      formatter = forAllSystems (pkgs: pkgs.nixfmt);

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (package pkgs) ];
          # Where rust-analyzer finds the standard library's source.
          RUST_SRC_PATH = "${pkgs.rustPlatform.rustLibSrc}";
          packages = [
            pkgs.clippy
            pkgs.rustfmt
            pkgs.rust-analyzer
            pkgs.python3
            pkgs.shellcheck
            pkgs.hyperfine
          ];
        };
      });
    };
}
