//! One JSON log event per request, in the format the Lambda functions write, with the request
//! id, route, token, outcome, Infobip's error id and latency. Each test captures the logs of its
//! own thread (a thread-local subscriber), so tests running in parallel do not mix their lines.

use crate::helpers::*;
use serde_json::{json, Value};

fn request_events(captured: &LogCapture) -> Vec<Value> {
    captured
        .text()
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
        })
        .filter(|event| event["fields"]["message"] == "request served")
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn each_request_is_one_json_event_with_route_token_outcome_and_latency() {
    let captured = LogCapture::default();
    let _guard = captured.install("info");

    let t = test_app().await;
    t.settled_with_error(TOKEN, 306).await;
    t.poll(TOKEN).await;
    t.send(get("/nope")).await;

    let events = request_events(&captured);
    assert_eq!(events.len(), 4, "{events:#?}");
    let summary: Vec<(Value, Value, Value, Value, Value)> = events
        .iter()
        .map(|e| {
            let span = &e["span"];
            (
                span["route"].clone(),
                span["token"].clone(),
                span["outcome"].clone(),
                span["infobip_error_id"].clone(),
                e["fields"]["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                json!("POST /verifications"),
                json!(TOKEN),
                json!("PENDING"),
                Value::Null,
                json!(201)
            ),
            (
                json!("POST /callbacks/infobip/{secret}"),
                json!(TOKEN),
                json!("RECORDED"),
                json!(306),
                json!(200)
            ),
            (
                json!("GET /verifications/{token}"),
                json!(TOKEN),
                json!("ERROR"),
                Value::Null,
                json!(200)
            ),
            (
                Value::Null,
                Value::Null,
                json!("not-found"),
                Value::Null,
                json!(404)
            ),
        ]
    );
    for event in &events {
        assert_eq!(event["level"], "INFO");
        assert_eq!(event["span"]["request_id"], "req-1");
        assert!(event["fields"]["latency_ms"].is_u64(), "{event}");
    }
}
