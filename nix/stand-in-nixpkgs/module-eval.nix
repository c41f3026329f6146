# Evaluates logpipe's NixOS module (nix/module.nix) the way the module system
# would for a given set of option values, with lib.nix's options: every
# option not set in `values` takes its declared default, mkIf is resolved.
# Returns { config; files } with the rendered TOML config files' text.
{ module, pkgs, values }:

let
  inherit (pkgs) lib;
  isOption = v: builtins.isAttrs v && (v._type or null) == "option";
  # Option tree + values -> config values (defaults where unset).
  fill = opts: vals:
    builtins.mapAttrs
      (n: o:
        if isOption o then (if vals ? ${n} then vals.${n} else o.default or (throw "option ${n} has no default and no value"))
        else fill o (vals.${n} or { }))
      opts;
  resolve = v:
    if builtins.isAttrs v && (v._type or null) == "if" then (if v.condition then resolve v.content else { })
    else if builtins.isAttrs v && !(v ? type && v.type == "derivation") then
      # An attribute whose value is a false mkIf is absent, as in the module system.
      builtins.mapAttrs (_: resolve)
        (builtins.removeAttrs v (builtins.filter (n: isFalseIf v.${n}) (builtins.attrNames v)))
    else v;
  isFalseIf = v: builtins.isAttrs v && (v._type or null) == "if" && !v.condition;
  evaluated = module { inherit config lib pkgs; };
  config = fill evaluated.options values // { systemd = result.systemd or { }; };
  result = resolve evaluated.config;
in
result
