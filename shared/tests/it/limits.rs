//! What keeps starts from costing more than they should: rate limits per phone number and device
//! address, checked before Infobip is called, and `Idempotency-Key` replays.

use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;
use serde_json::json;
use smv_shared::store::MemoryStore;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// Infobip accepts every start, each with a token of its own, after `delay`.
async fn infobip_accepts_after(t: &TestApp, delay: Duration) {
    Mock::given(method("POST"))
        .and(path("/mi/verification/1/verify"))
        .respond_with(move |_: &wiremock::Request| {
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "status": "REDIRECT",
                    "token": uuid::Uuid::new_v4().to_string(),
                    "deviceRedirectUrl": REDIRECT_URL
                }))
                .set_delay(delay)
        })
        .mount(&t.infobip)
        .await;
}

async fn infobip_always_redirects(t: &TestApp) {
    infobip_accepts_after(t, Duration::ZERO).await;
}

fn limited(env: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut all = vec![
        ("RATE_LIMIT_PER_PHONE", "0"),
        ("RATE_LIMIT_PER_IP", "0"),
        ("RATE_LIMIT_PER_PHONE_AND_IP", "0"),
        ("RATE_LIMIT_PER_IPV6_48", "0"),
        ("RATE_LIMIT_GLOBAL", "0"),
    ];
    all.extend_from_slice(env);
    all
}

async fn app_with(env: &[(&'static str, &'static str)]) -> TestApp {
    test_app_with(&limited(env), Arc::new(MemoryStore::new())).await
}

fn rate_limit_metrics(t: &TestApp) -> Vec<String> {
    t.metrics
        .documents()
        .into_iter()
        .filter(|d| d.get("RateLimitedStarts").is_some())
        .map(|d| d["LimitedBy"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_phone_number_over_its_limit_gets_429_and_infobip_is_not_called() {
    let t = app_with(&[
        ("RATE_LIMIT_PER_PHONE", "3"),
        ("RATE_LIMIT_PER_PHONE_WINDOW_SECONDS", "600"),
    ])
    .await;
    infobip_always_redirects(&t).await;
    // Different devices, one number: the number is what is limited.
    for i in 0..3 {
        let response = t
            .send(start_from(&format!("203.0.113.{i}"), PHONE, json!({})))
            .await;
        assert_eq!(response.status(), 201, "{}", body_text(&response));
    }
    let refused = t.send(start_from("198.51.100.9", PHONE, json!({}))).await;
    let problem = assert_problem(&refused, 429);
    assert_eq!(problem["type"], "urn:smv:problem:too-many-verifications");
    assert!(problem["detail"].as_str().unwrap().contains("phone number"));
    let retry_after: u64 = header(&refused, "retry-after").unwrap().parse().unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    // The same number spelled differently is the same number.
    let respelled = t
        .send(start_from("198.51.100.9", "44 7911 123456", json!({})))
        .await;
    assert_problem(&respelled, 429);
    assert_eq!(t.infobip_requests().await.len(), 3);
    assert_eq!(rate_limit_metrics(&t), ["PhoneNumber", "PhoneNumber"]);

    // Another number is not affected; after the window this one may start again.
    let other = t
        .send(start_from("198.51.100.9", "+447911123457", json!({})))
        .await;
    assert_eq!(other.status(), 201);
    t.advance(Duration::from_secs(retry_after));
    let again = t.send(start_from("198.51.100.9", PHONE, json!({}))).await;
    assert_eq!(again.status(), 201, "{}", body_text(&again));
}

#[tokio::test]
async fn a_device_address_over_its_limit_gets_429_for_any_number() {
    let t = app_with(&[
        ("RATE_LIMIT_PER_IP", "2"),
        ("RATE_LIMIT_PER_IP_WINDOW_SECONDS", "60"),
    ])
    .await;
    infobip_always_redirects(&t).await;
    for phone in ["+447911123401", "+447911123402"] {
        assert_eq!(
            t.send(start_from(DEVICE_IP, phone, json!({})))
                .await
                .status(),
            201
        );
    }
    let refused = t
        .send(start_from(DEVICE_IP, "+447911123403", json!({})))
        .await;
    assert!(assert_problem(&refused, 429)["detail"]
        .as_str()
        .unwrap()
        .contains("network address"));
    assert!(header(&refused, "retry-after").is_some());
    // A client cannot step around the limit with a forwarding header.
    let forwarded = t
        .send(start_from(
            DEVICE_IP,
            "+447911123404",
            json!({"x-forwarded-for": "192.0.2.77"}),
        ))
        .await;
    assert_problem(&forwarded, 429);
    assert_eq!(
        t.send(start_from("203.0.113.99", "+447911123405", json!({})))
            .await
            .status(),
        201
    );
    assert_eq!(t.infobip_requests().await.len(), 3);
    assert_eq!(rate_limit_metrics(&t), ["DeviceIp", "DeviceIp"]);
}

#[tokio::test]
async fn an_ipv6_device_cannot_escape_the_limit_by_changing_address_in_its_prefix() {
    let t = app_with(&[("RATE_LIMIT_PER_IP", "1")]).await;
    infobip_always_redirects(&t).await;
    let first = t
        .send(start_from("2001:db8:7:1::10", "+447911123401", json!({})))
        .await;
    assert_eq!(first.status(), 201);
    let second = t
        .send(start_from("2001:db8:7:1::11", "+447911123402", json!({})))
        .await;
    assert_problem(&second, 429);
}

#[tokio::test]
async fn the_default_limits_apply_when_nothing_is_configured() {
    let t = test_app().await;
    infobip_always_redirects(&t).await;
    let mut statuses = Vec::new();
    for i in 0..7 {
        let response = t
            .send(start_from(&format!("203.0.113.{i}"), PHONE, json!({})))
            .await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 201, 201, 429, 429]);
}

#[tokio::test]
async fn a_rate_limit_that_cannot_be_counted_fails_closed_with_503() {
    let store = FaultyStore::new(MemoryStore::new());
    store.fail("increment", 1);
    let t = test_app_with(&[], store.clone()).await;
    infobip_always_redirects(&t).await;
    let response = t.send(start_request(PHONE)).await;
    assert_problem(&response, 503);
    assert!(t.infobip_requests().await.is_empty());
    assert!(!store.calls().contains(&"create"));
}

#[tokio::test]
async fn a_retried_start_with_the_same_key_gets_the_first_answer_without_a_second_infobip_call() {
    let t = app_with(&[]).await;
    t.infobip_redirects(TOKEN).await;
    let key = "0b0f6a36-5d4c-4ab1-9d43-3f0b7b2a9c11";
    let first = t.send(keyed_start(key, PHONE)).await;
    assert_eq!(first.status(), 201);
    // Retried with the number spelled another way: still the same request.
    let retry = t.send(keyed_start(key, "447911123456")).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(body_json(&retry), body_json(&first));
    assert_eq!(header(&retry, "location"), header(&first, "location"));
    assert_eq!(header(&retry, "idempotent-replayed"), Some("true"));
    assert_eq!(header(&first, "idempotent-replayed"), None);
    assert_eq!(t.infobip_requests().await.len(), 1);
}

#[tokio::test]
async fn the_same_key_for_another_number_is_refused_with_422() {
    let t = app_with(&[]).await;
    t.infobip_redirects(TOKEN).await;
    assert_eq!(t.send(keyed_start("k-1", PHONE)).await.status(), 201);
    let reused = t.send(keyed_start("k-1", "+447911123457")).await;
    assert_problem_type(&reused, 422, "idempotency-key-reused");
    assert_eq!(t.infobip_requests().await.len(), 1);
}

#[tokio::test]
async fn concurrent_duplicates_do_not_both_reach_infobip() {
    let t = app_with(&[]).await;
    infobip_accepts_after(&t, Duration::from_millis(200)).await;
    let (a, b) = tokio::join!(
        t.send(keyed_start("k-2", PHONE)),
        t.send(keyed_start("k-2", PHONE))
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let waiting = if a.status() == 409 { &a } else { &b };
    assert_problem(waiting, 409);
    assert!(header(waiting, "retry-after").is_some());
    assert_eq!(t.infobip_requests().await.len(), 1);
    // Once the first has answered, the waiting client's retry gets that answer.
    let retry = t.send(keyed_start("k-2", PHONE)).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(t.infobip_requests().await.len(), 1);
}

#[tokio::test]
async fn after_a_temporary_failure_the_same_key_tries_again() {
    let t = app_with(&[]).await;
    Mock::given(method("POST"))
        .and(path("/mi/verification/1/verify"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&t.infobip)
        .await;
    t.infobip_redirects(TOKEN).await;
    assert_problem(&t.send(keyed_start("k-3", PHONE)).await, 503);
    let retry = t.send(keyed_start("k-3", PHONE)).await;
    assert_eq!(retry.status(), 201, "{}", body_text(&retry));
    assert_eq!(t.infobip_requests().await.len(), 2);
}

#[tokio::test]
async fn infobips_refusal_is_a_final_answer_and_is_replayed() {
    let t = app_with(&[]).await;
    t.infobip_answers(
        400,
        json!({"status": "ERROR", "token": TOKEN, "error": {"id": 8, "name": "EC_INVALID_PHONE_NUMBER", "description": "Invalid phone number."}}),
        1,
    )
    .await;
    let first = t.send(keyed_start("k-4", PHONE)).await;
    assert_problem(&first, 422);
    let retry = t.send(keyed_start("k-4", PHONE)).await;
    assert_problem(&retry, 422);
    assert_eq!(body_json(&retry), body_json(&first));
}

#[tokio::test]
async fn a_key_replayed_from_another_address_is_a_new_request() {
    let t = app_with(&[]).await;
    infobip_always_redirects(&t).await;
    assert_eq!(t.send(keyed_start("k-5", PHONE)).await.status(), 201);
    let elsewhere = t
        .send(start_from(
            "198.51.100.200",
            PHONE,
            json!({"idempotency-key": "k-5"}),
        ))
        .await;
    assert_eq!(elsewhere.status(), 201);
    assert_eq!(header(&elsewhere, "idempotent-replayed"), None);
    assert_eq!(t.infobip_requests().await.len(), 2);
}

#[tokio::test]
async fn a_replay_does_not_count_against_the_rate_limit() {
    let t = app_with(&[("RATE_LIMIT_PER_PHONE", "1")]).await;
    t.infobip_redirects(TOKEN).await;
    for _ in 0..3 {
        assert_eq!(t.send(keyed_start("k-6", PHONE)).await.status(), 201);
    }
}

#[tokio::test]
async fn malformed_keys_are_refused_before_anything_happens() {
    let store = FaultyStore::new(MemoryStore::new());
    let t = test_app_with(&limited(&[]), store.clone()).await;
    for key in ["", "has space", &"x".repeat(256)] {
        let response = t.send(keyed_start(key, PHONE)).await;
        assert_eq!(
            assert_problem(&response, 400)["type"],
            "urn:smv:problem:invalid-idempotency-key",
            "{key:?}"
        );
    }
    assert!(store.calls().is_empty());
    assert!(t.infobip_requests().await.is_empty());
}

#[tokio::test]
async fn idempotent_starts_work_the_same_on_dynamodb() {
    let t = test_app_with(
        &limited(&[("RATE_LIMIT_PER_PHONE", "2")]),
        dynamodb_store().await,
    )
    .await;
    infobip_accepts_after(&t, Duration::from_millis(200)).await;
    let (a, b, c) = tokio::join!(
        t.send(keyed_start("d-1", PHONE)),
        t.send(keyed_start("d-1", PHONE)),
        t.send(keyed_start("d-1", PHONE))
    );
    let mut statuses = [
        a.status().as_u16(),
        b.status().as_u16(),
        c.status().as_u16(),
    ];
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409]);
    assert_eq!(t.send(keyed_start("d-1", PHONE)).await.status(), 201);
    assert_problem(&t.send(keyed_start("d-1", "+447911123457")).await, 422);
    assert_eq!(t.infobip_requests().await.len(), 1);
    // One start counted; the second is allowed, the third is over the limit of 2.
    assert_eq!(t.send(keyed_start("d-2", PHONE)).await.status(), 201);
    assert_problem(&t.send(keyed_start("d-3", PHONE)).await, 429);
    assert_eq!(t.infobip_requests().await.len(), 2);
}

/// HTTP API joins repeated headers with commas: two keys arrive as one value, which is refused
/// because a key has no comma, rather than taken as a key nobody sent.
#[tokio::test]
async fn two_idempotency_keys_are_refused_even_when_api_gateway_joins_them() {
    use smv_shared::http::event::{HeaderMap, HttpRequest, Method};
    let t = test_app_with(&limited(&[]), Arc::new(MemoryStore::new())).await;
    let mut headers = HeaderMap::new();
    headers.append("content-type", "application/json".parse().unwrap());
    headers.append("idempotency-key", "k-1".parse().unwrap());
    headers.append("idempotency-key", "k-2".parse().unwrap());
    let body = serde_json::json!({"phoneNumber": PHONE}).to_string();
    let event = HttpRequest {
        method: &Method::POST,
        path: "/verifications",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
        source_ip: DEVICE_IP,
        domain_name: "abc123.execute-api.eu-west-1.amazonaws.com",
        request_id: "req-2",
    }
    .to_event();
    assert_eq!(event["headers"]["idempotency-key"], "k-1,k-2");
    let refused = t.send(parse_event(&event)).await;
    assert_problem_type(&refused, 400, "invalid-idempotency-key");
    assert!(t.infobip_requests().await.is_empty());
}

/// Behind one carrier address, an attacker hammers a victim's number: the starts the number's
/// limit refuses are taken back from the address's counter, so everyone else behind that address
/// can still start. Before: 55 refused starts filled the address's limit too.
#[tokio::test]
async fn starts_refused_for_a_number_do_not_use_up_the_shared_address() {
    let t = app_with(&[("RATE_LIMIT_PER_PHONE", "2"), ("RATE_LIMIT_PER_IP", "10")]).await;
    infobip_always_redirects(&t).await;
    let cgnat = "198.51.100.7";
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let attempt = t.send(start_from(cgnat, "+447911123499", json!({}))).await;
        statuses.push(attempt.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10);

    // Eight more subscribers behind the same address still get through (2 + 8 = the limit 10).
    for i in 0..8 {
        let neighbour = format!("+4479111235{i:02}");
        let started = t.send(start_from(cgnat, &neighbour, json!({}))).await;
        assert_eq!(
            started.status(),
            201,
            "neighbour {i}: {}",
            body_text(&started)
        );
    }
    assert_eq!(t.infobip_requests().await.len(), 10);
}

/// One device retrying one number is stopped by its own limit before the number's, so a single
/// device cannot use up the number's allowance for its owner.
#[tokio::test]
async fn one_device_cannot_use_up_a_numbers_allowance() {
    let t = app_with(&[
        ("RATE_LIMIT_PER_PHONE", "5"),
        ("RATE_LIMIT_PER_PHONE_AND_IP", "2"),
    ])
    .await;
    infobip_always_redirects(&t).await;
    let statuses: Vec<u16> = futures::future::join_all(
        (0..6).map(|_| t.send(start_from("203.0.113.66", PHONE, json!({})))),
    )
    .await
    .iter()
    .map(|r| r.status().as_u16())
    .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        2,
        "{statuses:?}"
    );
    // The owner, from their own phone, still has the number's other three starts.
    for _ in 0..2 {
        let owner = t.send(start_from("203.0.113.67", PHONE, json!({}))).await;
        assert_eq!(owner.status(), 201, "{}", body_text(&owner));
    }
    assert_eq!(
        rate_limit_metrics(&t).first().map(String::as_str),
        Some("PhoneAndDevice")
    );
}

/// Splitting a /48 into /64s does not multiply the allowance.
#[tokio::test]
async fn an_ipv6_network_is_limited_as_a_whole() {
    let t = app_with(&[("RATE_LIMIT_PER_IPV6_48", "3")]).await;
    infobip_always_redirects(&t).await;
    let mut statuses = Vec::new();
    for subnet in 0..5 {
        let ip = format!("2001:db8:9:{subnet:x}::1");
        let number = format!("+4479111236{subnet:02}");
        statuses.push(
            t.send(start_from(&ip, &number, json!({})))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
    let elsewhere = t
        .send(start_from("2001:db8:a::1", "+447911123699", json!({})))
        .await;
    assert_eq!(elsewhere.status(), 201);
}

/// The spend cap: many addresses and numbers, one deployment-wide limit, and each refusal counted
/// for the alarm.
#[tokio::test]
async fn the_global_limit_caps_every_start() {
    let t = app_with(&[("RATE_LIMIT_GLOBAL", "4")]).await;
    infobip_always_redirects(&t).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let started = t
            .send(start_from(
                &format!("203.0.113.{}", 100 + i),
                &format!("+4479111237{i:02}"),
                json!({}),
            ))
            .await;
        statuses.push(started.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 201, 429, 429]);
    assert_eq!(t.infobip_requests().await.len(), 4);
    assert_eq!(rate_limit_metrics(&t), ["Global", "Global"]);
}

/// A start refused because a counter could not be updated (503) is taken back from the counters
/// it was counted on, as a start refused by a limit is: it spends nobody's allowance.
#[tokio::test]
async fn a_start_refused_for_a_storage_failure_spends_no_allowance() {
    let store = FaultyStore::new(MemoryStore::new());
    let env = limited(&[("RATE_LIMIT_PER_IP", "5"), ("RATE_LIMIT_PER_PHONE", "1")]);
    let t = test_app_with(&env, store.clone()).await;
    infobip_always_redirects(&t).await;
    store.fail("increment", 1); // the address's counter; the number's is counted
    assert_problem(&t.send(start_request(PHONE)).await, 503);
    let started = t.send(start_request(PHONE)).await;
    assert_eq!(started.status(), 201, "{}", body_text(&started));
}

/// One address (an IPv6 /48) may spend only its share of the spend cap: at 10 %, it takes ten
/// addresses to exhaust it. And a start refused by another limit never touches the cap's
/// counter, nor does one the cap refuses change it, so refused starts cannot spend it.
async fn one_address_cannot_exhaust_the_global_cap_on(store: Arc<dyn smv_shared::store::Store>) {
    let store = FaultyStore::wrapping(store);
    let env = limited(&[("RATE_LIMIT_GLOBAL", "20")]);
    let t = test_app_with(&env, store.clone()).await;
    infobip_always_redirects(&t).await;
    let start = |ip: String, i: usize| {
        let t = &t;
        async move {
            let phone = format!("+4479111{i:05}");
            t.send(start_from(&ip, &phone, json!({}))).await
        }
    };
    let mut admitted = 0;
    for i in 0..6 {
        let answer = start("203.0.113.7".into(), i).await;
        match answer.status().as_u16() {
            201 => admitted += 1,
            status => {
                assert_eq!(status, 429);
                assert!(body_json(&answer)["detail"]
                    .as_str()
                    .unwrap()
                    .contains("share"));
            }
        }
    }
    assert_eq!(admitted, 2, "10 % of 20");
    // A whole /48 is one address: changing addresses inside it changes nothing.
    let from_48 = start("2001:db8:7:1::1".into(), 100).await.status();
    let same_48 = start("2001:db8:7:2::1".into(), 101).await.status();
    let again_48 = start("2001:db8:7:3::1".into(), 102).await.status();
    assert_eq!(
        [from_48, same_48, again_48].map(|s| s.as_u16()),
        [201, 201, 429]
    );
    admitted += 2;
    let global_writes = |store: &FaultyStore| {
        store
            .counter_writes()
            .iter()
            .filter(|k| k.starts_with("limit#Global#"))
            .count()
    };
    assert_eq!(
        global_writes(&store),
        admitted,
        "refused starts never wrote the cap"
    );
    for address in 10..30 {
        start(format!("198.51.100.{address}"), 200 + address).await;
    }
    assert_eq!(t.infobip_requests().await.len(), 20, "the cap holds");
    assert_eq!(
        global_writes(&store),
        20,
        "only admitted starts wrote the cap"
    );
}

on_each_store!(one_address_cannot_exhaust_the_global_cap_on: one_address_cannot_exhaust_the_global_cap, one_address_cannot_exhaust_the_global_cap_on_dynamodb);

/// The spend cap is counted on 16 items (one DynamoDB item takes at most 1,000 writes a second):
/// 1,000 starts from 1,000 addresses, 25 at a time, in ten execution environments (each its
/// own place among the shards), against a cap of 800 (16 shares of 50). Never more than the cap
/// is admitted, refusals begin only near it (8 % short at most, in simulation), and the refused
/// starts change no counter.
async fn the_sharded_cap_holds_under_concurrent_starts_on(
    store: Arc<dyn smv_shared::store::Store>,
) {
    use smv_shared::device::Subscriber;
    use smv_shared::phone::PhoneNumber;
    use smv_shared::phone_hash::PhoneHashKey;
    use smv_shared::rate_limit::{admit, Limit, LimitError, RateLimits, Scope};

    let store = FaultyStore::wrapping(store);
    let cap = Limit {
        max: 800,
        window: Duration::from_secs(3600),
    };
    let environments: Vec<RateLimits> = (0..10)
        .map(|_| RateLimits::new([(Scope::Global, Some(cap))]))
        .collect();
    let phone = PhoneHashKey::new(PHONE_HASH_KEY.as_bytes().to_vec())
        .unwrap()
        .hash(&PhoneNumber::parse(PHONE).unwrap());
    let mut admitted = 0;
    // 25 at a time: enough to race, few enough not to queue moto (one request at a time) past
    // the other tests' timeouts.
    for batch in 0..40 {
        let starts = (0..25).map(|i| {
            let (store, limits, phone) = (store.clone(), &environments[i % 10], &phone);
            async move {
                let ip: std::net::IpAddr = format!("10.{batch}.0.{}", i + 1).parse().unwrap();
                admit(
                    store.as_ref(),
                    limits,
                    phone,
                    &Subscriber::of(ip),
                    START_TIME,
                )
                .await
            }
        });
        for outcome in futures::future::join_all(starts).await {
            match outcome {
                Ok(()) => admitted += 1,
                Err(LimitError::Exceeded(e)) => assert_eq!(e.scope, Scope::Global),
                Err(e) => panic!("{e}"),
            }
        }
    }
    assert!((760..=800).contains(&admitted), "{admitted} of 800");
    let writes = store.counter_writes();
    assert_eq!(writes.len(), admitted, "refused starts changed no counter");
    let shards: std::collections::BTreeSet<_> = writes.iter().collect();
    assert_eq!(shards.len(), 16, "{shards:?}");
}

on_each_store!(the_sharded_cap_holds_under_concurrent_starts_on: the_sharded_cap_holds_under_concurrent_starts, the_sharded_cap_holds_under_concurrent_starts_on_dynamodb);
