//! Test support for logpipe.
//!
//! - [`hdfs`]: a protocol-level fake HDFS (NameNode + DataNodes) that the real hdfs-native
//!   client talks to over 127.0.0.1, with fault injection and a call log.

pub mod hdfs;
