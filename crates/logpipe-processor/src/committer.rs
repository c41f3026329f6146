//! The committer task: writes each batch in one store transaction, retrying
//! transient failures (database down, deadlock) with jittered exponential
//! back-off while keeping the batch — no loss, no duplicates — and reports
//! each outcome back to the consumer thread.

use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Receiver;

use crate::metrics;
use crate::pipeline::{CommitBatch, OffsetAdvance, Schema};
use crate::store::{CommitError, Store};
use logpipe_core::dead_letter::DeadLetters;

/// What became of one batch.
pub(crate) enum CommitOutcome {
    Committed { offsets: Vec<OffsetAdvance> },
    Fenced(String),
    Fatal(anyhow::Error),
}

/// `base` ± 50 %.
pub(crate) fn jittered(base: Duration) -> Duration {
    base.mul_f64(0.5 + rand::random::<f64>())
}

const MAX_BACKOFF: Duration = Duration::from_secs(15);

/// A warning that repeats while an outage lasts, logged at most once per
/// `every` with the number of occurrences in between.
pub(crate) struct Throttle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    pub(crate) const fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(occurrences suppressed since the last log)` when this one
    /// should be logged.
    pub(crate) fn allow(&mut self) -> Option<u64> {
        if self.last.is_some_and(|t| t.elapsed() < self.every) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(Instant::now());
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// Produce the batch's dead letters and wait for Kafka's acknowledgement
/// of every one, before the offsets past them are committed. A missing or
/// unwritable dead-letter topic is an external failure: back off and
/// produce them again (some may then be written twice: dead letters are
/// at least once, with the source offset in their headers), until it
/// works. An error when the producer is in librdkafka's fatal state.
async fn deliver_dead_letters(dlq: &Arc<DeadLetters>, batch: &CommitBatch) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(200);
    let mut throttle = Throttle::new(Duration::from_secs(10));
    loop {
        let (producer, letters) = (dlq.clone(), batch.dead_letters.clone());
        let delivered = tokio::task::spawn_blocking(move || {
            for l in letters.iter() {
                producer.send(l.as_letter());
            }
            // librdkafka reports on every message within message.timeout.ms:
            // wait for all of them rather than give up and send again.
            loop {
                match producer.flush(Duration::from_secs(1)) {
                    Err(_) if producer.in_flight() > 0 => continue,
                    other => return other,
                }
            }
        })
        .await?;
        let Err(e) = delivered else {
            return Ok(());
        };
        if let Some(why) = dlq.fatal_error() {
            anyhow::bail!(
                "the dead-letter producer is in librdkafka's fatal state ({why}); no dead letter can be sent, \
                 so batch {} is not committed. Restart the daemon (a new producer); if it recurs, check the \
                 brokers' logs and the producer settings in [kafka] (enable.idempotence, acks)",
                batch.id
            );
        }
        ::metrics::counter!(metrics::DLQ_FAILURES).increment(1);
        let wait = jittered(backoff);
        if let Some(suppressed) = throttle.allow() {
            let first = &batch.dead_letters[0];
            tracing::warn!(
                error = %e,
                batch = batch.id,
                dead_letters = batch.dead_letters.len(),
                dlq = format!("{}{}", first.topic, logpipe_core::dead_letter::DLQ_SUFFIX),
                retry_in_ms = wait.as_millis() as u64,
                failed_attempts_not_logged = suppressed,
                "dead-letter topic unavailable; keeping the batch (offsets uncommitted past its first dead letter) and retrying"
            );
        }
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

pub(crate) async fn run(
    store: Store,
    schema: Arc<Schema>,
    group_id: String,
    dlq: Arc<DeadLetters>,
    mut batches: Receiver<CommitBatch>,
    outcomes: Sender<CommitOutcome>,
) {
    while let Some(batch) = batches.recv().await {
        let outcome = commit(&store, &schema, &group_id, &dlq, &batch).await;
        if outcomes.send(outcome).is_err() {
            return;
        }
    }
}

async fn commit(
    store: &Store,
    schema: &Schema,
    group_id: &str,
    dlq: &Arc<DeadLetters>,
    batch: &CommitBatch,
) -> CommitOutcome {
    if !batch.dead_letters.is_empty() {
        if let Err(e) = deliver_dead_letters(dlq, batch).await {
            return CommitOutcome::Fatal(e);
        }
    }
    let mut backoff = Duration::from_millis(200);
    let mut throttle = Throttle::new(Duration::from_secs(10));
    loop {
        let started = Instant::now();
        match store.commit(group_id, schema, batch).await {
            Ok(summary) => {
                ::metrics::gauge!(metrics::STORE_AVAILABLE).set(1.0);
                ::metrics::histogram!(metrics::COMMIT_DURATION)
                    .record(started.elapsed().as_secs_f64());
                ::metrics::counter!(metrics::COMMITS, "outcome" => "ok").increment(1);
                ::metrics::gauge!(metrics::LAST_COMMIT).set(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0.0, |d| d.as_secs_f64()),
                );
                for (table, rows) in summary.rows {
                    ::metrics::counter!(metrics::ROWS_UPSERTED, "table" => table).increment(rows);
                }
                tracing::debug!(
                    batch = batch.id,
                    events = batch.events,
                    ms = started.elapsed().as_millis() as u64,
                    "committed"
                );
                return CommitOutcome::Committed {
                    offsets: batch.offsets.clone(),
                };
            }
            Err(e @ CommitError::Fenced { .. }) => {
                ::metrics::counter!(metrics::COMMITS, "outcome" => "fenced").increment(1);
                return CommitOutcome::Fenced(e.to_string());
            }
            Err(CommitError::Transient(e)) => {
                ::metrics::counter!(metrics::COMMITS, "outcome" => "retry").increment(1);
                ::metrics::counter!(metrics::STORE_ERRORS).increment(1);
                ::metrics::gauge!(metrics::STORE_AVAILABLE).set(0.0);
                let wait = jittered(backoff);
                if let Some(suppressed) = throttle.allow() {
                    tracing::warn!(error = %e, batch = batch.id, retry_in_ms = wait.as_millis() as u64, failed_attempts_not_logged = suppressed, "store unavailable; keeping the batch and retrying");
                }
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(e @ CommitError::Fatal(_)) => {
                ::metrics::counter!(metrics::COMMITS, "outcome" => "fatal").increment(1);
                return CommitOutcome::Fatal(
                    anyhow::Error::new(e).context(format!("commit of batch {} failed", batch.id)),
                );
            }
        }
    }
}
