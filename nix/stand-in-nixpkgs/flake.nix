# A stand-in for nixpkgs, for evaluating logpipe's flake where nixpkgs
# cannot be downloaded (crates/logpipe/tests/nix_flake.rs passes it with
# --override-input nixpkgs). It implements just what flake.nix and nix/
# use, recording arguments instead of building: buildRustPackage returns
# its arguments, formats.toml writes real TOML (so the NixOS module's
# rendered config can be checked by `logpipe check-config`), and the module
# options are plain values with their defaults. It proves the expressions
# evaluate and what they produce, not that nixpkgs builds them.
{
  outputs = { self }:
    let
      lib = import ./lib.nix;
      pkgsFor = system: import ./pkgs.nix { inherit lib system; };
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] pkgsFor;
    };
}
