{
  description = "logpipe: one binary for the generate, process, archive daemons and the daily rollup";

  # Only nixpkgs: the Rust dependencies come from Cargo.lock
  # (rustPlatform.buildRustPackage with cargoLock.lockFile).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (system: pkgs: {
        logpipe = pkgs.callPackage ./nix/package.nix { src = self; };
        default = self.packages.${system}.logpipe;
      });

      apps = forAll (system: pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${system}.logpipe}/bin/logpipe";
        };
      });

      checks = forAll (system: pkgs: import ./nix/checks.nix {
        inherit pkgs;
        src = self;
        logpipe = self.packages.${system}.logpipe;
      });

      devShells = forAll (system: pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${system}.logpipe ];
          packages = [ pkgs.cargo pkgs.rustc pkgs.clippy pkgs.rustfmt pkgs.rust-analyzer ];
        };
      });

      nixosModules.default = import ./nix/module.nix { inherit self; };
    };
}
