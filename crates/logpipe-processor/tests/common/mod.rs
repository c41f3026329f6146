//! The processor's tests on top of `logpipe-testkit`: the shared end-to-end
//! fixtures (`logpipe_testkit::pipeline`: fresh database + mock cluster,
//! seed events, the reference `log_data`, stored offsets and rows), and the
//! client properties as the processor takes them.

#![allow(dead_code, unused_imports)] // each test binary uses a part of it

use logpipe_core::config::KafkaProperties;

pub use logpipe_testkit::kafka::produce;
pub use logpipe_testkit::mariadb::TestDb;
pub use logpipe_testkit::pipeline::{
    committed_offsets, log_event, log_events, messages, mock_cluster, reference_log_data,
    reference_of, stored_log_data, wait_offsets, Pipeline, LEVELS,
};

/// Client properties for tests: quick group joins and reconnects.
pub fn test_kafka(bootstrap: &str) -> KafkaProperties {
    let mut k = KafkaProperties::default();
    for (key, value) in logpipe_testkit::pipeline::client_properties(bootstrap) {
        k.set(&key, value);
    }
    k
}
