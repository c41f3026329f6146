# Stand-in packages: derivation-shaped attribute sets that record how they
# were asked for. formats.toml.generate writes real TOML with builtins.toFile.
{ lib, system }:

let
  fake = name: attrs: attrs // {
    type = "derivation";
    inherit name system;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    overrideAttrs = f: fake "${name}-override" (attrs // f attrs);
  };

  tomlValue = v:
    if builtins.isString v then builtins.toJSON v
    else if builtins.isBool v then (if v then "true" else "false")
    else if builtins.isInt v then toString v
    else if builtins.isList v then "[" + builtins.concatStringsSep ", " (map tomlValue v) + "]"
    else throw "stand-in toml: cannot write ${builtins.typeOf v}";

  # Tables after the plain keys, dotted names for nested tables, a list of
  # attribute sets as an array of tables ([[name]]).
  isTableList = v: builtins.isList v && v != [ ] && builtins.all builtins.isAttrs v;
  tomlTable = prefix: attrs: tomlTableAs "[${prefix}]" prefix attrs;
  tomlTableAs = headerText: prefix: attrs:
    let
      names = builtins.attrNames attrs;
      plain = builtins.filter (n: !builtins.isAttrs attrs.${n} && !isTableList attrs.${n}) names;
      tables = builtins.filter (n: builtins.isAttrs attrs.${n}) names;
      lists = builtins.filter (n: isTableList attrs.${n}) names;
      key = n: builtins.toJSON n;
      path = n: if prefix == "" then key n else "${prefix}.${key n}";
      header = if prefix == "" then "" else "${headerText}\n";
    in
    header
    + builtins.concatStringsSep "" (map (n: "${key n} = ${tomlValue attrs.${n}}\n") plain)
    + builtins.concatStringsSep "" (map (n: "\n" + tomlTable (path n) attrs.${n}) tables)
    + builtins.concatStringsSep "" (map (n: builtins.concatStringsSep "" (map (t: "\n" + tomlTableAs "[[${path n}]]" (path n) t) attrs.${n})) lists);

  self = {
    inherit lib;
    stdenv.hostPlatform.system = system;
    callPackage = fnOrPath: args:
      let fn = if builtins.isFunction fnOrPath then fnOrPath else import fnOrPath;
      in fn (builtins.intersectAttrs (builtins.functionArgs fn) self // args);
    rustPlatform.buildRustPackage = attrs: fake "${attrs.pname}-${attrs.version}" ({ nativeBuildInputs = [ ]; } // attrs);
    mkShell = attrs: fake "shell" attrs;
    formats.toml = _: {
      type = "toml";
      generate = name: value: builtins.toFile name (tomlTable "" value);
    };
  } // lib.genAttrs [ "pkg-config" "perl" "openssl" "zlib" "zstd" "cargo" "rustc" "clippy" "rustfmt" "rust-analyzer" "systemd" ] (n: fake n { });
in
self
