# NixOS module: services.logpipe.{generate,process,archive,rollup}. Each
# daemon gets the unit from systemd/ exactly as it is tested there (same
# hardening, Type=notify, watchdog, stop timeout), through `systemd.packages`,
# plus a drop-in that points it at the Nix-built binary, at its TOML config
# rendered from the typed options below, and at its credential files. The
# rollup (a daily batch) gets logpipe-rollup.service, logpipe-rollup@DAY.service
# and logpipe-rollup.timer the same way, with the timer's schedule from
# rollup.schedule, and logpipe-failure@.service (its OnFailure= handler)
# pointed at systemd-cat in the Nix store.
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
    rollup = c: {
      database_url = c.databaseUrl;
      inherit (c) wait;
      late_horizon = c.lateHorizon;
    } // lib.optionalAttrs (c.topics != [ ]) {
      inherit (c) topics;
    } // lib.optionalAttrs (c.pushgateway != null) {
      inherit (c) pushgateway;
    } // lib.optionalAttrs (c.metrics != [ ]) {
      metric = map (m: { inherit (m) name topic; measure = m.measure or "count"; group_by = m.groupBy or [ ]; }) c.metrics;
    } // lib.optionalAttrs (rollupCredentials ? "db-password") {
      database_password_file = credentialPath "rollup" "db-password";
    };
  };

  # The rollup's credentials: credentials plus databasePasswordFile.
  rollupCredentials = cfg.rollup.credentials
    // lib.optionalAttrs (cfg.rollup.databasePasswordFile != null) { "db-password" = cfg.rollup.databasePasswordFile; };

  # The rollup reads the archive as the archiver wrote it ([archive]: root,
  # path template, zone, HDFS client) and the processor's consumer group
  # ([process] group_id): the archive options describe the archive even on a
  # host that runs only the rollup.
  rollupConfigFile = toml.generate "logpipe-rollup.toml" {
    archive = sections.archive cfg.archive;
    process.group_id = cfg.process.groupId;
    rollup = lib.recursiveUpdate (sections.rollup cfg.rollup) cfg.rollup.settings;
  };

  rollupUnit = date: {
    overrideStrategy = "asDropin";
    serviceConfig = {
      ExecStartPre = [ "" "${cfg.package}/bin/logpipe check-config ${rollupConfigFile}" ];
      ExecStart = [ "" "${cfg.package}/bin/logpipe rollup --config ${rollupConfigFile}${date}" ];
      LoadCredential = [ "" ] ++ lib.mapAttrsToList (name: path: "${name}:${path}") rollupCredentials;
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

    rollup = {
      enable = mkEnableOption "the daily logpipe rollup (logpipe-rollup.timer)";
      schedule = mkOption {
        type = types.str;
        default = "*-*-* 01:30:00 UTC";
        description = ''
          OnCalendar= of logpipe-rollup.timer. Keep it after midnight +
          lateHorizon + the archive's allowed lateness (the sensor waits
          for the rest, at most `wait`).
        '';
      };
      databaseUrl = mkOption {
        type = types.str;
        example = "mysql://logpipe@db1:3306/logpipe";
        description = "The processor's MariaDB, without the password; receives daily_metrics and daily_reconciliation.";
      };
      databasePasswordFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        example = "/run/keys/logpipe-db";
        description = "File holding the database password, loaded as credential db-password (never copied into the store).";
      };
      topics = mkOption { type = types.listOf types.str; default = [ ]; description = "Topics to roll up; empty: the archive's topics."; };
      wait = mkOption { type = types.str; default = "2h"; description = "Sensor timeout (exit 75 after it); the unit's TimeoutStartSec= (3h) is above the default."; };
      lateHorizon = mkOption { type = types.str; default = "1h"; description = "How much of the next day is also read for events archived late."; };
      pushgateway = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "http://127.0.0.1:9091";
        description = "Prometheus Pushgateway receiving the run's result (logpipe_rollup_success, …); null: no push.";
      };
      metrics = mkOption {
        type = types.listOf (types.submodule {
          options = {
            name = mkOption { type = types.str; description = "Metric name in daily_metrics."; };
            topic = mkOption { type = types.str; description = "Topic whose events it measures."; };
            groupBy = mkOption { type = types.listOf types.str; default = [ ]; description = "Event fields, one row per combination."; };
            measure = mkOption { type = types.str; default = "count"; description = "count, sum(field), min(field), max(field) or avg(field)."; };
          };
        });
        default = [ ];
        example = lib.literalExpression ''[ { name = "events_by_level"; topic = "logs"; groupBy = [ "level" ]; } ]'';
        description = "Daily metrics ([[rollup.metric]]); empty: a count of events per topic.";
      };
      credentials = credentialsOption "rollup";
      settings = settingsOption "rollup";
    };
  };

  config = mkIf (cfg.generate.enable || cfg.process.enable || cfg.archive.enable || cfg.rollup.enable) {
    systemd.packages = [ cfg.package ];
    systemd.services = {
      logpipe-generate = unit "generate";
      logpipe-process = unit "process";
      logpipe-archive = unit "archive";
      # No wantedBy and no restartTriggers: the timer starts the batch.
      logpipe-rollup = mkIf cfg.rollup.enable (rollupUnit "");
      "logpipe-rollup@" = mkIf cfg.rollup.enable (rollupUnit " --date %i");
      "logpipe-failure@" = mkIf cfg.rollup.enable {
        overrideStrategy = "asDropin";
        serviceConfig.ExecStart = [ "" "${pkgs.systemd}/bin/systemd-cat --identifier=logpipe-failure --priority=crit" ];
      };
    };
    systemd.timers.logpipe-rollup = mkIf cfg.rollup.enable {
      wantedBy = [ "timers.target" ];
      overrideStrategy = "asDropin";
      # "" resets the unit file's OnCalendar= (a drop-in would add one).
      timerConfig.OnCalendar = [ "" cfg.rollup.schedule ];
    };
  };
}
