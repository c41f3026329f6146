-- The SELECT-only MariaDB account of Grafana's "MariaDB (logpipe)"
-- datasource (provisioning/datasources/logpipe.yml). Run once as an admin
-- after replacing the password (the Ansible mariadb role templates it from
-- its vault) and, if [process] database_url names another database, the
-- database name. crates/logpipe/tests/observability.rs runs every logs panel
-- query through an account made by this file.
CREATE USER IF NOT EXISTS 'logpipe_grafana'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT ON `logpipe`.* TO 'logpipe_grafana'@'%';
