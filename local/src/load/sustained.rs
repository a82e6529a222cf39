//! `smv-local load --for SECONDS`: the load held for minutes. Apps, each from an address of its
//! own (127.0.1.x: the local server takes the TCP peer as the device address), run verifications
//! back to back; beside them an abuser starts one number from one address as fast as it is
//! answered, past its limit, and a broken client sends starts that are not valid. Every answer is held to
//! its contract: an app's verifications end as the simulator decided, the abuser gets only 201 or
//! 429 with `Retry-After`, the broken client only a 4xx problem.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;

use super::{join, one, summarize, LoadOptions, LoadReport, Trace};

/// What the abuser and the broken client saw.
#[derive(Debug, Default)]
pub struct Abuse {
    /// Answers to the abuser's starts, by status.
    pub abuser: BTreeMap<u16, u64>,
    /// Answers to invalid starts, by status.
    pub invalid: BTreeMap<u16, u64>,
    /// Answers outside their contract, described.
    pub violations: Vec<String>,
}

fn client(address: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address)
        .timeout(Duration::from_secs(120))
        .build()
        .expect("a plain reqwest client builds")
}

/// The `i`-th app's own loopback address.
fn app_address(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        1 + (i / 250) as u8,
        1 + (i % 250) as u8,
    ))
}

pub async fn run(options: &LoadOptions, apps: usize, length: Duration) -> LoadReport {
    let began = Instant::now();
    let deadline = began + length;
    let options = Arc::new(options.clone());
    let workers: Vec<_> = (0..apps)
        .map(|app| {
            let (http, options) = (client(app_address(app)), options.clone());
            tokio::spawn(async move {
                let mut traces = Vec::new();
                // Each app walks through the mix: one number per app would run into the
                // per-number-and-address limit that stops the abuser.
                for k in 0.. {
                    if Instant::now() >= deadline {
                        break;
                    }
                    traces.push(one(&http, &options, k * apps + app, app + k).await);
                }
                traces
            })
        })
        .collect();
    let abuser = tokio::spawn(abuse(options.clone(), deadline));
    let mut traces: Vec<Trace> = Vec::new();
    for worker in workers {
        traces.extend(worker.await.unwrap_or_default());
    }
    let mut report = summarize(traces, began.elapsed());
    report.abuse = Some(abuser.await.unwrap_or_else(|e| Abuse {
        violations: vec![format!("the abuser failed: {e}")],
        ..Abuse::default()
    }));
    report
}

/// Starts from one address until `deadline`, as fast as they are answered; and every tenth a
/// start no valid app sends, from another.
async fn abuse(options: Arc<LoadOptions>, deadline: Instant) -> Abuse {
    let abuser = client(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    let broken = client(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
    let mut seen = Abuse::default();
    let Ok(url) = join(&options.api, "verifications") else {
        seen.violations.push("no start URL".into());
        return seen;
    };
    let invalid = [
        json!({"phoneNumber": "07911123456"}),
        json!({"phoneNumber": "+44791112345678901"}),
        json!({"phone": "+447911123456"}),
        json!({"phoneNumber": 447911123456u64}),
    ];
    let mut n = 0usize;
    while Instant::now() < deadline {
        n += 1;
        let response = abuser
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .json(&json!({"phoneNumber": "+447911000001"}))
            .send()
            .await;
        match response {
            Ok(response) => {
                let status = response.status().as_u16();
                *seen.abuser.entry(status).or_default() += 1;
                let has_retry_after = response.headers().contains_key(RETRY_AFTER);
                match status {
                    201 => {}
                    429 if has_retry_after => {}
                    // Under this load the store may ask for patience; that is within contract.
                    503 if has_retry_after => {}
                    other => seen
                        .violations
                        .push(format!("the abuser's start answered {other}")),
                }
            }
            Err(e) => seen.violations.push(format!("the abuser's start: {e}")),
        }
        if n.is_multiple_of(10) {
            let body = &invalid[(n / 10) % invalid.len()];
            match broken.post(url.clone()).json(body).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    *seen.invalid.entry(status).or_default() += 1;
                    let problem = response
                        .headers()
                        .get(CONTENT_TYPE)
                        .is_some_and(|t| t == "application/problem+json");
                    if !(matches!(status, 400 | 422) && problem) {
                        seen.violations
                            .push(format!("an invalid start {body} answered {status}"));
                    }
                }
                Err(e) => seen.violations.push(format!("an invalid start: {e}")),
            }
        }
    }
    seen
}
