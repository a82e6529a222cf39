//! Least privilege, held against the code: each function in `template.yaml` is granted exactly the
//! DynamoDB actions its routes really call. Every path of each function (including the rare ones:
//! an Idempotency-Key released after a failure, a result that arrives before its verification)
//! runs against DynamoDB through a proxy that records each operation; a missing grant would be an
//! AccessDenied in production, a surplus one a wider blast radius than needed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use common::dynamodb_faults::FaultyDynamoDb;
use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// Logical function id → the DynamoDB actions its policies allow (without the `dynamodb:` prefix).
fn granted() -> BTreeMap<String, BTreeSet<String>> {
    let raw =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
            .unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&raw).unwrap();
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| {
            let actions = r["Properties"]["Policies"]
                .as_sequence()
                .unwrap()
                .iter()
                .flat_map(|p| p["Statement"].as_sequence().unwrap().iter())
                .flat_map(|s| {
                    assert_eq!(s["Effect"], "Allow", "{id:?}");
                    assert_eq!(
                        s["Resource"],
                        serde_yaml::from_str::<serde_yaml::Value>("!GetAtt VerificationsTable.Arn")
                            .unwrap(),
                        "{id:?} may act on the table only"
                    );
                    s["Action"].as_sequence().unwrap().iter()
                })
                .map(|a| {
                    let action = a.as_str().unwrap();
                    action
                        .strip_prefix("dynamodb:")
                        .unwrap_or_else(|| panic!("{id:?}: {action} is not a DynamoDB action"))
                        .to_owned()
                })
                .collect();
            (id.as_str().unwrap().to_owned(), actions)
        })
        .collect()
}

fn keyed_start(key: &str) -> lambda_http::Request {
    parse_event(&http_api_event(
        "POST",
        "/verifications",
        json!({"content-type": "application/json", "idempotency-key": key}),
        Some(&json!({"phoneNumber": PHONE}).to_string()),
        DEVICE_IP,
    ))
}

/// One app per function, each reaching the same table through its own recording proxy, so every
/// DynamoDB operation is attributed to the function that made it.
struct Deployment {
    apps: BTreeMap<&'static str, (TestApp, FaultyDynamoDb)>,
}

impl Deployment {
    async fn start() -> Self {
        let table = dynamodb_table_at(&test_dynamodb_endpoint()).await;
        let mut apps = BTreeMap::new();
        for function in ["StartVerifyFunction", "CallbackFunction", "PollFunction"] {
            let proxy = FaultyDynamoDb::start(test_dynamodb_endpoint()).await;
            let store = dynamodb_store_on(&proxy.endpoint, &table);
            // Generous, so that holding Infobip's answer back below never times the start out.
            let app = test_app_with(&[("INFOBIP_TIMEOUT_MS", "5000")], store).await;
            apps.insert(function, (app, proxy));
        }
        Self { apps }
    }

    fn app(&self, function: &str) -> &TestApp {
        &self.apps[function].0
    }

    fn called(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.apps
            .iter()
            .map(|(f, (_, proxy))| (f.to_string(), proxy.seen().into_iter().collect()))
            .collect()
    }
}

#[tokio::test]
async fn each_function_is_granted_exactly_the_dynamodb_actions_it_calls() {
    let d = Deployment::start().await;
    let (starter, callback, poll) = (
        d.app("StartVerifyFunction"),
        d.app("CallbackFunction"),
        d.app("PollFunction"),
    );

    // A plain start; an Idempotency-Key start and its replay; one released after Infobip failed.
    let genuine = starter.start_pending(TOKEN).await;
    starter.infobip.reset().await;
    starter
        .infobip_redirects("7c9e6679-7425-40de-944b-e07fc1f90ae7")
        .await;
    for _ in 0..2 {
        let keyed = starter.send(keyed_start("k-1")).await;
        assert_eq!(keyed.status(), 201, "{}", body_text(&keyed));
    }
    starter.infobip.reset().await;
    starter.infobip_answers(503, json!({}), 1).await;
    assert_problem(&starter.send(keyed_start("k-2")).await, 503);

    // The genuine result, a repeat, a forged secret, a token we never started.
    let valid = json!({"result": "VALID", "token": TOKEN});
    assert_eq!(
        callback.callback(&genuine, valid.clone()).await.status(),
        200
    );
    assert_eq!(callback.callback(&genuine, valid).await.status(), 200);
    let forged = format!("/callbacks/infobip/{}", "A".repeat(43));
    let forged = callback
        .callback(&forged, json!({"result": "INVALID", "token": TOKEN}))
        .await;
    assert!(forged.status().is_client_error(), "{}", body_text(&forged));

    // The Brazil race: Infobip calls back before answering the start, so the callback function
    // keeps the result and the start picks it up.
    starter.infobip.reset().await;
    Mock::given(method("POST"))
        .and(path("/mi/verification/1/verify"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "OK", "token": OTHER_TOKEN}))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&starter.infobip)
        .await;
    let brazil_start = starter.send(start_request("+5511987654321"));
    let early_callback = async {
        while starter.infobip_requests().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let body = json!({"result": "VALID", "token": OTHER_TOKEN});
        callback
            .callback(&starter.callback_path().await, body)
            .await
    };
    let (started, early) = tokio::join!(brazil_start, early_callback);
    assert_eq!(started.status(), 201, "{}", body_text(&started));
    assert_eq!(early.status(), 200, "{}", body_text(&early));

    // A known token, the one settled early, an unknown one.
    assert_eq!(poll.poll(TOKEN).await.1["status"], "VALID");
    assert_eq!(poll.poll(OTHER_TOKEN).await.1["status"], "VALID");
    assert_eq!(
        poll.poll("0b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d").await.0,
        404
    );

    assert_eq!(
        granted(),
        d.called(),
        "template grants (left) and DynamoDB operations the functions called (right) differ"
    );
}
