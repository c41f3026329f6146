//! `GET /api/stream`: generated events as Server-Sent Events (the seed's live
//! car-transaction feed). Bounded in rate and in concurrent clients.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::Semaphore;

use super::Ingest;
use crate::config::HttpConfig;
use crate::metrics as m;
use crate::scenario::{EventClock, Generator, ScenarioKind};

pub struct StreamSettings {
    scenario: ScenarioKind,
    rate: f64,
    max_rate: f64,
    clients: Arc<Semaphore>,
}

impl StreamSettings {
    pub fn new(h: &HttpConfig) -> Self {
        Self {
            scenario: h.stream_scenario,
            rate: h.stream_rate,
            max_rate: h.stream_max_rate,
            clients: Arc::new(Semaphore::new(h.stream_max_clients)),
        }
    }
}

#[derive(Deserialize)]
pub struct StreamQuery {
    scenario: Option<ScenarioKind>,
    rate: Option<f64>,
    seed: Option<u64>,
}

pub async fn get_stream(State(s): State<Arc<Ingest>>, Query(q): Query<StreamQuery>) -> Response {
    let settings = &s.stream;
    let rate = q.rate.unwrap_or(settings.rate);
    if !(rate > 0.0 && rate <= settings.max_rate) {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "rate must be > 0 and ≤ {} events per second\n",
                settings.max_rate
            ),
        )
            .into_response();
    }
    let Ok(permit) = settings.clients.clone().try_acquire_owned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "too many stream clients\n").into_response();
    };
    let generator = Generator::new(
        q.scenario.unwrap_or(settings.scenario),
        q.seed,
        EventClock::Live,
    );
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let gauge = metrics::gauge!(m::SSE_CLIENTS);
    gauge.increment(1.0);
    let guard = ClientGuard {
        _permit: permit,
        gauge,
    };
    let events = futures::stream::unfold(
        (generator, tick, guard, Vec::new(), Vec::new()),
        |(mut generator, mut tick, guard, mut key, mut payload)| async move {
            tick.tick().await;
            generator.next_event(&mut key, &mut payload);
            let data = String::from_utf8_lossy(&payload).into_owned();
            let event = Event::default().event(generator.kind().name()).data(data);
            Some((
                Ok::<_, Infallible>(event),
                (generator, tick, guard, key, payload),
            ))
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Releases the client slot and the gauge when the client goes away.
struct ClientGuard {
    _permit: tokio::sync::OwnedSemaphorePermit,
    gauge: metrics::Gauge,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}
