//! Test support for logpipe.
//!
//! - [`hdfs`]: a protocol-level fake HDFS (NameNode + DataNodes) that the real hdfs-native
//!   client and Hadoop's own Java client talk to over 127.0.0.1, with fault injection and a
//!   call log.
//! - [`kafka`]: librdkafka's mock cluster with topics, producing to explicit partitions,
//!   reading a topic back.
//! - [`mariadb`]: a fresh MariaDB database per test.
//! - [`pipeline`]: end-to-end fixtures of the processor (fresh database + mock cluster +
//!   client config, seed events, the reference `log_data`, what the processor stored).
//! - [`process`]: running the real binary as a daemon: kill-on-drop children, a fake
//!   systemd notify socket, free ports, HTTP GET and Prometheus values.
//! - [`proxy`]: a TCP proxy whose connections can be cut and restored (outage tests
//!   against a shared server).

pub mod hdfs;
pub mod kafka;
pub mod mariadb;
pub mod pipeline;
pub mod process;
pub mod proxy;
