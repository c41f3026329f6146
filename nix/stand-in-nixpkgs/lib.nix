# The few nixpkgs lib functions logpipe's flake and module use, with the
# same meaning (module options evaluate to their defaults: see module-eval.nix).
let
  lib = rec {
    genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
    mapAttrsToList = f: attrs: map (n: f n attrs.${n}) (builtins.attrNames attrs);
    optionalAttrs = cond: attrs: if cond then attrs else { };
    hasPrefix = prefix: s: builtins.substring 0 (builtins.stringLength prefix) s == prefix;
    recursiveUpdate = a: b:
      a // builtins.mapAttrs
        (n: v: if builtins.isAttrs v && a ? ${n} && builtins.isAttrs a.${n} then recursiveUpdate a.${n} v else v)
        b;
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    mkOption = attrs: { _type = "option"; } // attrs;
    mkEnableOption = name: mkOption { type = types.bool; default = false; description = "Whether to enable ${name}."; };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    platforms.linux = [ "x86_64-linux" "aarch64-linux" ];
    types = {
      bool = "bool";
      str = "str";
      int = "int";
      path = "path";
      package = "package";
      ints.unsigned = "unsigned";
      enum = values: { enum = values; };
      listOf = t: { listOf = t; };
      nullOr = t: { nullOr = t; };
      # List elements are not filled with the submodule's defaults here.
      submodule = m: { submodule = m; };
      attrsOf = t: { attrsOf = t; };
      oneOf = ts: { oneOf = ts; };
    };
  };
in
lib
