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

      package =
        pkgs:
        pkgs.rustPlatform.buildRustPackage {
          pname = cargoToml.package.name;
          version = cargoToml.package.version;
          inherit src;
          cargoLock.lockFile = ./Cargo.lock;
          # The integration tests run the built binary against real SQLite
          # files and real processes; they need nothing from the network.
          doCheck = true;
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
          fmt = pkgs.runCommand "sqlite-graphrag-fmt" { nativeBuildInputs = [ pkgs.cargo pkgs.rustfmt ]; } ''
            cd ${src}
            cargo fmt --all -- --check
            touch $out
          '';
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (package pkgs) ];
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
