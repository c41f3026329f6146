# NixOS module: services.logpipe.{generate,process,archive}. Each daemon gets
# the unit from systemd/ exactly as it is tested there (same hardening,
# Type=notify, watchdog, stop timeout), through `systemd.packages`, plus a
# drop-in that points it at the Nix-built binary, at its TOML config rendered
# from the typed options below, and at its credential files.
# (services.logpipe.rollup comes with `logpipe rollup`, which does not exist yet.)
{ self }:
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption mkEnableOption mkIf types;
  cfg = config.services.logpipe;
  toml = pkgs.formats.toml { };

  credentialsOption = daemon: mkOption {
    type = types.attrsOf types.path;
    default = { };
    example = lib.literalExpression ''{ "db-password" = "/run/keys/logpipe-db"; }'';
    description = ''
      Secrets handed to the unit with LoadCredential= (read by systemd as
      root, never copied into the Nix store): name -> file. The daemon reads
      each as /run/credentials/logpipe-${daemon}.service/<name>.
    '';
  };

  credentialPath = daemon: name: "/run/credentials/logpipe-${daemon}.service/${name}";

  settingsOption = daemon: mkOption {
    type = toml.type;
    default = { };
    description = ''
      Further keys of [${daemon}] (see config/logpipe.toml), merged over the
      typed options; unknown keys are refused by `logpipe check-config`.
    '';
  };

  common = daemon: {
    enable = mkEnableOption "logpipe ${daemon}";
    metricsListen = mkOption {
      type = types.str;
      default = { generate = "127.0.0.1:9101"; process = "127.0.0.1:9102"; archive = "127.0.0.1:9103"; }.${daemon};
      description = "Prometheus /metrics listen address of logpipe ${daemon}.";
    };
    drainTimeout = mkOption {
      type = types.str;
      default = { generate = "10s"; process = "30s"; archive = "60s"; }.${daemon};
      description = "Graceful drain on SIGTERM; the unit's TimeoutStopSec= is above the default.";
    };
    kafka = mkOption {
      type = types.attrsOf (types.oneOf [ types.str types.int types.bool ]);
      default = { };
      description = "librdkafka properties for this daemon only ([${daemon}.kafka]).";
    };
    credentials = credentialsOption daemon;
    settings = settingsOption daemon;
  };

  sections = {
    generate = c: {
      inherit (c) topic scenario rate;
      metrics_listen = c.metricsListen;
      drain_timeout = c.drainTimeout;
      http = {
        enabled = c.http.enable;
        listen = c.http.listen;
      } // lib.optionalAttrs (c.credentials ? "ingest-token") {
        token_file = credentialPath "generate" "ingest-token";
      };
    };
    process = c: {
      database_url = c.databaseUrl;
      group_id = c.groupId;
      metrics_listen = c.metricsListen;
      drain_timeout = c.drainTimeout;
    } // lib.optionalAttrs (c.credentials ? "db-password") {
      database_password_file = credentialPath "process" "db-password";
    };
    archive = c: {
      inherit (c) url topics codec;
      metrics_listen = c.metricsListen;
      drain_timeout = c.drainTimeout;
    } // lib.optionalAttrs (lib.hasPrefix "hdfs://" c.url) {
      hdfs = { user = c.hdfsUser; config_dir = c.hadoopConfDir; };
    };
  };

  configFile = daemon:
    let
      c = cfg.${daemon};
      section = lib.recursiveUpdate (sections.${daemon} c)
        (lib.optionalAttrs (c.kafka != { }) { kafka = c.kafka; });
    in
    toml.generate "logpipe-${daemon}.toml" {
      kafka = { "bootstrap.servers" = cfg.kafka.bootstrapServers; } // cfg.kafka.properties;
      ${daemon} = lib.recursiveUpdate section c.settings;
    };

  unit = daemon: mkIf cfg.${daemon}.enable {
    wantedBy = [ "multi-user.target" ];
    overrideStrategy = "asDropin";
    restartTriggers = [ (configFile daemon) ];
    serviceConfig = {
      # "" resets the list the unit file in systemd/ sets.
      ExecStartPre = [ "" "${cfg.package}/bin/logpipe check-config ${configFile daemon}" ];
      ExecStart = [ "" "${cfg.package}/bin/logpipe ${daemon} --config ${configFile daemon}" ];
      LoadCredential = [ "" ] ++ lib.mapAttrsToList (name: path: "${name}:${path}") cfg.${daemon}.credentials;
    };
  };
in
{
  options.services.logpipe = {
    package = mkOption {
      type = types.package;
      default = self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      defaultText = lib.literalExpression "logpipe.packages.\${system}.default";
      description = "The logpipe package (its lib/systemd/system units are used).";
    };

    kafka = {
      bootstrapServers = mkOption {
        type = types.str;
        example = "kafka-1:9092,kafka-2:9092";
        description = "librdkafka bootstrap.servers for every daemon.";
      };
      properties = mkOption {
        type = types.attrsOf (types.oneOf [ types.str types.int types.bool ]);
        default = { };
        description = "Further librdkafka properties shared by every daemon ([kafka]).";
      };
    };

    generate = common "generate" // {
      topic = mkOption { type = types.str; default = "logs"; description = "Kafka topic."; };
      scenario = mkOption {
        type = types.enum [ "server-logs" "access-logs" "car-transactions" "user-events" "user-profiles" ];
        default = "server-logs";
        description = "Generator scenario.";
      };
      rate = mkOption { type = types.ints.unsigned; default = 1000; description = "Events per second; 0 = as fast as Kafka accepts."; };
      http = {
        enable = mkOption { type = types.bool; default = true; description = "Serve the HTTP ingest API."; };
        listen = mkOption { type = types.str; default = "127.0.0.1:8080"; description = "HTTP ingest listen address."; };
      };
    };

    process = common "process" // {
      databaseUrl = mkOption {
        type = types.str;
        example = "mysql://logpipe@db1:3306/logpipe";
        description = "MariaDB URL without the password (that is credentials.\"db-password\").";
      };
      groupId = mkOption { type = types.str; default = "logpipe-process"; description = "Kafka consumer group."; };
    };

    archive = common "archive" // {
      url = mkOption { type = types.str; example = "hdfs://nn1:8020/logpipe/archive"; description = "Archive root (hdfs:// or file:///var/lib/logpipe/...)."; };
      topics = mkOption { type = types.listOf types.str; default = [ "logs" ]; description = "Topics to archive."; };
      codec = mkOption { type = types.enum [ "zstd" "gzip" "none" ]; default = "zstd"; description = "File compression."; };
      hdfsUser = mkOption { type = types.str; default = "logpipe"; description = "HDFS user (simple authentication)."; };
      hadoopConfDir = mkOption { type = types.str; default = "/etc/hadoop/conf"; description = "Hadoop client config directory."; };
    };
  };

  config = mkIf (cfg.generate.enable || cfg.process.enable || cfg.archive.enable) {
    systemd.packages = [ cfg.package ];
    systemd.services = {
      logpipe-generate = unit "generate";
      logpipe-process = unit "process";
      logpipe-archive = unit "archive";
    };
  };
}
