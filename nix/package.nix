# The logpipe binary with librdkafka linked in: rdkafka's bundled librdkafka
# (rdkafka 0.39 needs librdkafka >= 2.12) is configured and built from the
# vendored crate sources, which needs perl, a C toolchain, openssl and zlib.
# The units of systemd/ (ExecStart= pointing into $out) and the example
# configs of config/ are installed next to the binary.
{ lib, rustPlatform, pkg-config, perl, openssl, zlib, zstd, src }:

let
  cargoToml = builtins.fromTOML (builtins.readFile (src + "/Cargo.toml"));
in
rustPlatform.buildRustPackage {
  pname = "logpipe";
  version = cargoToml.workspace.package.version;
  inherit src;

  cargoLock.lockFile = src + "/Cargo.lock";

  nativeBuildInputs = [ pkg-config perl ];
  buildInputs = [ openssl zlib zstd ];

  cargoBuildFlags = [ "--package" "logpipe" ];
  # The suite needs a MariaDB server and the fake HDFS; `checks.tests` runs
  # the tests that need neither.
  doCheck = false;

  postInstall = ''
    install -d $out/lib/systemd/system $out/share/logpipe/config $out/share/doc/logpipe
    for unit in ${src}/systemd/*.service ${src}/systemd/*.timer; do
      [ -e "$unit" ] || continue
      sed "s|/usr/bin/logpipe|$out/bin/logpipe|g" "$unit" > $out/lib/systemd/system/$(basename "$unit")
    done
    cp ${src}/config/*.toml $out/share/logpipe/config/
    cp ${src}/README.md ${src}/systemd/README.md $out/share/doc/logpipe/ 2>/dev/null || true
  '';

  meta = {
    description = "Log and event pipeline: generate, Kafka, process into MariaDB, archive into HDFS";
    mainProgram = "logpipe";
    platforms = lib.platforms.linux;
  };
}
