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
    if batch.dead_letters > 0 {
        let dlq = dlq.clone();
        let flushed = tokio::task::spawn_blocking(move || dlq.flush(Duration::from_secs(30))).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return CommitOutcome::Fatal(e),
            Err(e) => return CommitOutcome::Fatal(e.into()),
        }
    }
    let mut backoff = Duration::from_millis(200);
    loop {
        let started = Instant::now();
        match store.commit(group_id, schema, batch).await {
            Ok(summary) => {
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
                let wait = jittered(backoff);
                tracing::warn!(error = %e, batch = batch.id, retry_in_ms = wait.as_millis() as u64, "store unavailable; keeping the batch and retrying");
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
