//! Every scenario produced into a real Kafka protocol peer (librdkafka's mock
//! cluster) and consumed back: counts, keys, field shapes and distributions.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use logpipe_core::systemd::Notifier;
use logpipe_core::Shutdown;
use logpipe_generator::scenario::{data, EventClock, Generator, ScenarioKind};
use logpipe_generator::GenerateConfig;
use serde_json::Value;

const N: u64 = 20_000;

async fn produce_and_consume(kind: ScenarioKind) -> Vec<(String, serde_json::Map<String, Value>)> {
    let topic = kind.name();
    let cluster = cluster(&[topic]);
    let bootstrap = cluster.bootstrap_servers();
    let config = GenerateConfig {
        topic: topic.into(),
        scenario: kind,
        rate: 0.0,
        count: Some(N),
        seed: Some(7),
        ..GenerateConfig::default()
    };
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        logpipe_generator::run(
            config,
            kafka_props(&bootstrap),
            Shutdown::new(),
            Notifier::from_env(),
        ),
    )
    .await
    .expect("generation finished in time")
    .expect("generation succeeded");
    assert_eq!(summary.generated, N);
    assert_eq!(summary.delivered, N, "every event acknowledged");
    assert_eq!(summary.failed, 0);

    let b = bootstrap.clone();
    let records = tokio::task::spawn_blocking(move || {
        consume(&b, topic, N as usize, Duration::from_secs(30))
    })
    .await
    .unwrap();
    drop(cluster);
    assert_eq!(
        records.len() as u64,
        N,
        "{kind}: exactly the produced events come back"
    );
    records
        .into_iter()
        .map(|r| {
            let key = String::from_utf8(r.key.expect("every message has a key")).unwrap();
            let v: Value = serde_json::from_slice(&r.payload).expect("payload is JSON");
            let Value::Object(m) = v else {
                panic!("payload is an object")
            };
            // The key is the scenario's key field.
            let field = &m[kind.key_field()];
            let expected = field
                .as_str()
                .map_or_else(|| field.to_string(), str::to_owned);
            assert_eq!(
                key,
                expected,
                "{kind}: key is the {} field",
                kind.key_field()
            );
            assert!(
                m["timestamp"].is_f64(),
                "{kind}: timestamp is epoch seconds as a float"
            );
            (key, m)
        })
        .collect()
}

fn histogram<'a>(events: impl Iterator<Item = &'a str>, labels: &[&str]) -> Vec<u64> {
    let mut counts = HashMap::new();
    for e in events {
        assert!(labels.contains(&e), "unexpected value {e:?}");
        *counts.entry(e.to_owned()).or_insert(0u64) += 1;
    }
    labels
        .iter()
        .map(|l| counts.get(*l).copied().unwrap_or(0))
        .collect()
}

#[tokio::test]
async fn server_logs_have_the_seed_shape_and_key_by_host() {
    let events = produce_and_consume(ScenarioKind::ServerLogs).await;
    for (_, e) in &events {
        let mut keys: Vec<&str> = e.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["host", "level", "message", "service", "timestamp"]);
        assert!(data::HOSTS.contains(&e["host"].as_str().unwrap()));
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    // Level counts over the whole run lie between the normal and the wave mix.
    let levels = histogram(
        events.iter().map(|(_, e)| e["level"].as_str().unwrap()),
        &data::LEVELS,
    );
    assert!(
        levels.iter().all(|&c| c > 0),
        "every level occurs: {levels:?}"
    );
}

#[test]
fn server_log_levels_follow_normal_and_wave_weights() {
    // One event per simulated 10 ms for ~2.8 simulated hours: plenty of waves.
    let mut g = Generator::new(
        ScenarioKind::ServerLogs,
        Some(42),
        EventClock::Simulated {
            start_micros: 1_700_000_000_000_000,
            step_micros: 10_000,
        },
    );
    let (mut key, mut payload) = (Vec::new(), Vec::new());
    let mut normal = [0u64; 4];
    let mut wave = [0u64; 4];
    let mut wave_seconds = 0u64;
    let mut seconds = 0u64;
    for i in 0..1_000_000u64 {
        g.next_event(&mut key, &mut payload);
        let v: Value = serde_json::from_slice(&payload).unwrap();
        let ts = v["timestamp"].as_f64().unwrap() as u64;
        let idx = data::LEVELS.iter().position(|l| *l == v["level"]).unwrap();
        if g.in_wave(ts) {
            wave[idx] += 1;
        } else {
            normal[idx] += 1;
        }
        if i % 100 == 0 {
            seconds += 1;
            wave_seconds += u64::from(g.in_wave(ts));
        }
    }
    let df = 3;
    let x_normal = chi_square(&normal, &data::LEVEL_WEIGHTS_NORMAL);
    let x_wave = chi_square(&wave, &data::LEVEL_WEIGHTS_WAVE);
    assert!(
        x_normal < CHI2_CRIT_0_001[df],
        "normal mix {normal:?}: chi² {x_normal}"
    );
    assert!(
        x_wave < CHI2_CRIT_0_001[df],
        "wave mix {wave:?}: chi² {x_wave}"
    );
    // A wave starts with 1 % chance per calm second and lasts 90 s: on
    // average 100 calm seconds, then 90 in a wave → 90/190 ≈ 47 % of the time.
    let share = wave_seconds as f64 / seconds as f64;
    assert!(
        (0.35..0.60).contains(&share),
        "share of time in waves {share:.3}"
    );
}

#[tokio::test]
async fn user_events_follow_the_40_35_5_10_10_mix() {
    let events = produce_and_consume(ScenarioKind::UserEvents).await;
    let labels: Vec<&str> = data::USER_EVENT_TYPES.iter().map(|e| e.0).collect();
    let weights: Vec<u32> = data::USER_EVENT_TYPES.iter().map(|e| e.1).collect();
    let observed = histogram(
        events
            .iter()
            .map(|(_, e)| e["event_type"].as_str().unwrap()),
        &labels,
    );
    let x = chi_square(&observed, &weights);
    assert!(
        x < CHI2_CRIT_0_001[labels.len() - 1],
        "{observed:?}: chi² {x}"
    );
    for (_, e) in &events {
        let user = e["user_id"].as_u64().unwrap();
        assert!((1..=data::USER_POPULATION).contains(&user));
        assert!(e["page_id"].as_u64().is_some());
        assert!(e["session_id"].as_str().unwrap().starts_with("s-"));
    }
}

#[tokio::test]
async fn access_logs_have_methods_statuses_and_sizes() {
    let events = produce_and_consume(ScenarioKind::AccessLogs).await;
    let labels: Vec<&str> = data::METHODS.iter().map(|m| m.0).collect();
    let weights: Vec<u32> = data::METHODS.iter().map(|m| m.1).collect();
    let observed = histogram(
        events.iter().map(|(_, e)| e["method"].as_str().unwrap()),
        &labels,
    );
    let x = chi_square(&observed, &weights);
    assert!(
        x < CHI2_CRIT_0_001[labels.len() - 1],
        "{observed:?}: chi² {x}"
    );
    let statuses: Vec<u64> = data::STATUSES.iter().map(|s| s.0).collect();
    for (key, e) in &events {
        assert_eq!(key.split('.').count(), 4, "ip key {key}");
        assert!(statuses.contains(&e["status"].as_u64().unwrap()));
        assert!(e["bytes"].as_u64().is_some() && e["latency_ms"].as_u64().unwrap() > 0);
        assert!(data::USER_AGENTS.contains(&e["user_agent"].as_str().unwrap()));
        assert!(e["path"].as_str().unwrap().starts_with('/'));
    }
}

#[tokio::test]
async fn car_transactions_have_unique_ids_and_valid_prices() {
    let events = produce_and_consume(ScenarioKind::CarTransactions).await;
    let mut ids = std::collections::HashSet::new();
    for (key, e) in &events {
        assert!(ids.insert(key.clone()), "transaction ids are unique");
        let parts: Vec<&str> = key.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12],
            "uuid {key}"
        );
        assert!(parts[2].starts_with('4'), "uuid v4 {key}");
        let price = e["price"].as_f64().unwrap();
        assert!((data::PRICE_RANGE.0 as f64..=data::PRICE_RANGE.1 as f64).contains(&price));
        let year = e["year"].as_u64().unwrap();
        assert!((data::YEAR_RANGE.0..=data::YEAR_RANGE.1).contains(&year));
        assert!(
            data::CARS
                .iter()
                .any(|(b, m)| e["brand"] == *b && e["model"] == *m),
            "brand/model pair"
        );
        for f in ["buyer", "color", "country", "branch"] {
            assert!(!e[f].as_str().unwrap().is_empty(), "{f}");
        }
    }
    // Brands are uniform over the model table: chi-square on brand counts.
    let brands: Vec<&str> = {
        let mut b: Vec<&str> = data::CARS.iter().map(|c| c.0).collect();
        b.dedup();
        b
    };
    let weights: Vec<u32> = brands
        .iter()
        .map(|b| data::CARS.iter().filter(|c| c.0 == *b).count() as u32)
        .collect();
    let observed = histogram(
        events.iter().map(|(_, e)| e["brand"].as_str().unwrap()),
        &brands,
    );
    let x = chi_square(&observed, &weights);
    assert!(
        x < CHI2_CRIT_0_001[brands.len() - 1],
        "{observed:?}: chi² {x}"
    );
}

#[tokio::test]
async fn user_profiles_are_keyed_by_id_with_dates() {
    let events = produce_and_consume(ScenarioKind::UserProfiles).await;
    for (key, e) in &events {
        assert_eq!(key, &e["id"].to_string());
        let email = e["email"].as_str().unwrap();
        assert!(email.contains('@') && email.contains(&e["id"].to_string()));
        for f in ["registered", "birth_date"] {
            let d = e[f].as_str().unwrap();
            assert_eq!(d.len(), 10, "{f} {d}");
            assert_eq!(&d[4..5], "-");
        }
        assert!(e["birth_date"].as_str().unwrap() < e["registered"].as_str().unwrap());
    }
    // Ids repeat (profiles get updated), which is what the upsert tables need.
    let distinct: std::collections::HashSet<_> = events.iter().map(|(k, _)| k).collect();
    assert!(distinct.len() < events.len());
}

#[test]
fn same_seed_and_start_time_give_identical_output() {
    let clock = EventClock::Simulated {
        start_micros: 1_700_000_000_000_000,
        step_micros: 1_000,
    };
    for kind in ScenarioKind::ALL {
        let mut a = Generator::new(kind, Some(9), clock);
        let mut b = Generator::new(kind, Some(9), clock);
        let mut c = Generator::new(kind, Some(10), clock);
        let (mut ka, mut pa, mut kb, mut pb, mut kc, mut pc) = Default::default();
        let mut differs = false;
        for _ in 0..1000 {
            a.next_event(&mut ka, &mut pa);
            b.next_event(&mut kb, &mut pb);
            c.next_event(&mut kc, &mut pc);
            assert_eq!((&ka, &pa), (&kb, &pb), "{kind}");
            differs |= pa != pc;
        }
        assert!(differs, "{kind}: another seed gives other events");
    }
}

#[tokio::test]
async fn rate_is_accurate_within_5_percent_at_10k_per_second() {
    let cluster = cluster(&["rate"]);
    let config = GenerateConfig {
        topic: "rate".into(),
        rate: 10_000.0,
        duration: Some(logpipe_core::config::HumanDuration::from_secs(5)),
        ..GenerateConfig::default()
    };
    let summary = logpipe_generator::run(
        config,
        kafka_props(&cluster.bootstrap_servers()),
        Shutdown::new(),
        Notifier::from_env(),
    )
    .await
    .unwrap();
    let expected = 50_000.0;
    let error = (summary.generated as f64 - expected).abs() / expected;
    assert!(
        error <= 0.05,
        "generated {} in 5 s at 10k/s: {:.1} % off",
        summary.generated,
        error * 100.0
    );
    assert_eq!(summary.delivered, summary.generated);
}
