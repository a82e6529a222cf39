//! `smv-local load`: many apps at once against a running backend whose Infobip is the simulator.
//! Every verification runs the whole way (start, duplicate start, forged callbacks, device
//! redirects, polling) and must end with exactly the result the simulator sent. Prints counts,
//! throughput and latency; "lost" must be 0. Used by `scripts/load`; not a test.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};
use smv_shared::urls_and_headers::retry_after;
use url::Url;

use crate::device;
use crate::test_numbers::load_mix;

mod sustained;
pub use sustained::Abuse;

/// `items` comma-separated, or `none` when there are none.
fn listed(items: impl Iterator<Item = String>, none: &str) -> String {
    let items: Vec<String> = items.collect();
    match items.is_empty() {
        true => none.to_owned(),
        false => items.join(", "),
    }
}

const MAX_START_ATTEMPTS: u32 = 30;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub api: Url,
    pub verifications: usize,
    /// Sustained: this many apps, each running verifications back to back for this long, beside
    /// an abuser and a broken client; otherwise `verifications` at once.
    pub sustained: Option<(usize, Duration)>,
    /// How long a verification may take from start to final status.
    pub timeout: Duration,
}

/// What one verification went through.
#[derive(Debug)]
struct Trace {
    expected: &'static str,
    /// `Ok(status)`, or what went wrong.
    outcome: Result<String, String>,
    start_latency: Duration,
    /// Temporary refusals (409, 503, ...) that the app retried with its Idempotency-Key.
    start_retries: BTreeMap<u16, u32>,
    duplicate_start_replayed: Option<bool>,
    forged_sent: u32,
    forged_refused: u32,
    polls: u32,
}

impl Trace {
    fn new(expected: &'static str) -> Self {
        Self {
            expected,
            outcome: Err("not run".into()),
            start_latency: Duration::ZERO,
            start_retries: BTreeMap::new(),
            duplicate_start_replayed: None,
            forged_sent: 0,
            forged_refused: 0,
            polls: 0,
        }
    }
}

#[derive(Debug, Default)]
pub struct LoadReport {
    pub verifications: usize,
    pub by_expected: BTreeMap<String, (usize, usize)>,
    pub lost: usize,
    pub failures: Vec<String>,
    pub start_retries: BTreeMap<u16, u32>,
    pub duplicate_starts: usize,
    pub duplicate_starts_replayed: usize,
    pub forged_sent: u32,
    pub forged_refused: u32,
    pub polls: u32,
    pub wall: Duration,
    pub all_started_after: Duration,
    pub start_p50: Duration,
    pub start_p99: Duration,
    /// The simulator's count of its callback deliveries, by how the backend acknowledged them.
    pub callback_deliveries: BTreeMap<String, u64>,
    /// Sustained runs: what the abuser and the broken client were answered.
    pub abuse: Option<Abuse>,
}

impl LoadReport {
    /// No verification lost or wrong, no duplicate start answered differently, no forged
    /// callback accepted, no genuine callback left undelivered.
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && !self.callback_deliveries.contains_key("UNDELIVERED")
            && self.duplicate_starts == self.duplicate_starts_replayed
            && self.forged_sent == self.forged_refused
            && self.abuse.as_ref().is_none_or(|a| a.violations.is_empty())
    }

    /// Verifications that ended with a result Infobip sent (not EXPIRED): each must have been
    /// recorded exactly once (`scripts/load` counts the `Results` metrics the server wrote).
    pub fn results_expected(&self) -> usize {
        self.by_expected
            .iter()
            .filter(|(expected, _)| *expected != "EXPIRED")
            .map(|(_, (ok, _))| ok)
            .sum()
    }

    pub fn print(&self) {
        println!("verifications:            {}", self.verifications);
        for (expected, (ok, total)) in &self.by_expected {
            println!("  expected {expected:<8}        {ok}/{total} ended so");
        }
        println!("lost or wrong results:    {}", self.lost);
        for failure in self.failures.iter().take(20) {
            println!("  {failure}");
        }
        println!(
            "duplicate starts:         {} sent, {} answered with the first answer",
            self.duplicate_starts, self.duplicate_starts_replayed
        );
        println!(
            "forged callbacks:         {} sent, {} refused (403)",
            self.forged_sent, self.forged_refused
        );
        let deliveries = self
            .callback_deliveries
            .iter()
            .map(|(o, n)| format!("{n} {o}"));
        println!(
            "callbacks from Infobip:   {}",
            listed(deliveries, "(no simulator statistics)")
        );
        let retries = self.start_retries.iter().map(|(s, n)| format!("{n}x {s}"));
        println!("start retries:            {}", listed(retries, "none"));
        println!("polls:                    {}", self.polls);
        println!("results expected recorded: {}", self.results_expected());
        if let Some(abuse) = &self.abuse {
            let answers =
                |m: &BTreeMap<u16, u64>| listed(m.iter().map(|(s, n)| format!("{n}x {s}")), "none");
            println!("abuser's starts:          {}", answers(&abuse.abuser));
            println!("invalid starts:           {}", answers(&abuse.invalid));
            println!("answers out of contract:  {}", abuse.violations.len());
            for violation in abuse.violations.iter().take(20) {
                println!("  {violation}");
            }
        }
        // A burst's starts all go out at once; a sustained run's are spread over its length.
        if self.abuse.is_none() {
            println!(
                "all started after:        {:.2} s ({:.0} starts/s)",
                self.all_started_after.as_secs_f64(),
                self.verifications as f64 / self.all_started_after.as_secs_f64()
            );
        }
        println!(
            "start latency:            p50 {} ms, p99 {} ms",
            self.start_p50.as_millis(),
            self.start_p99.as_millis()
        );
        println!(
            "all final after:          {:.2} s ({:.1} verifications/s end to end)",
            self.wall.as_secs_f64(),
            self.verifications as f64 / self.wall.as_secs_f64()
        );
    }
}

pub async fn run(options: &LoadOptions) -> LoadReport {
    if let Some((apps, length)) = options.sustained {
        let mut report = sustained::run(options, apps, length).await;
        let http = reqwest::Client::new();
        report.callback_deliveries = simulator_deliveries(&http, &options.api).await;
        return report;
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // Far above what an app would wait: requests queue behind the concurrency limit, and the
        // question here is whether anything is lost, not how fast a laptop emulator answers.
        .timeout(Duration::from_secs(120))
        .build()
        .expect("a plain reqwest client builds");
    let began = Instant::now();
    let options = Arc::new(options.clone());
    let tasks: Vec<_> = (0..options.verifications)
        .map(|i| {
            let (http, options) = (http.clone(), options.clone());
            tokio::spawn(async move { one(&http, &options, i, i).await })
        })
        .collect();
    let mut traces = Vec::with_capacity(tasks.len());
    for task in tasks {
        traces.push(task.await.unwrap_or_else(|e| Trace {
            outcome: Err(format!("task failed: {e}")),
            ..Trace::new("-")
        }));
    }
    let mut report = summarize(traces, began.elapsed());
    report.callback_deliveries = simulator_deliveries(&http, &options.api).await;
    report
}

async fn simulator_deliveries(http: &reqwest::Client, api: &Url) -> BTreeMap<String, u64> {
    let Ok(url) = join(api, "_simulator/infobip/stats") else {
        return BTreeMap::new();
    };
    let Ok(response) = http.get(url).send().await else {
        return BTreeMap::new();
    };
    let stats: Value = response.json().await.unwrap_or(Value::Null);
    serde_json::from_value(stats["callbackDeliveries"].clone()).unwrap_or_default()
}

fn summarize(traces: Vec<Trace>, wall: Duration) -> LoadReport {
    let mut report = LoadReport {
        verifications: traces.len(),
        wall,
        ..LoadReport::default()
    };
    let mut latencies: Vec<Duration> = traces.iter().map(|t| t.start_latency).collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    if !latencies.is_empty() {
        report.start_p50 = at(0.50);
        report.start_p99 = at(0.99);
        report.all_started_after = *latencies.last().unwrap_or(&Duration::ZERO);
    }
    for (i, trace) in traces.iter().enumerate() {
        let entry = report
            .by_expected
            .entry(trace.expected.to_owned())
            .or_default();
        entry.1 += 1;
        match &trace.outcome {
            Ok(status) if status == trace.expected => entry.0 += 1,
            Ok(status) => {
                report.lost += 1;
                report
                    .failures
                    .push(format!("#{i}: expected {}, got {status}", trace.expected));
            }
            Err(e) => {
                report.lost += 1;
                report.failures.push(format!("#{i}: {e}"));
            }
        }
        for (status, n) in &trace.start_retries {
            *report.start_retries.entry(*status).or_default() += n;
        }
        if let Some(replayed) = trace.duplicate_start_replayed {
            report.duplicate_starts += 1;
            report.duplicate_starts_replayed += usize::from(replayed);
        }
        report.forged_sent += trace.forged_sent;
        report.forged_refused += trace.forged_refused;
        report.polls += trace.polls;
    }
    report
}

/// The `i`-th verification of a run, of the `number`-th number of the mix.
async fn one(http: &reqwest::Client, options: &LoadOptions, i: usize, number: usize) -> Trace {
    let (phone, expected, error_id) = load_mix()
        .nth(number % load_mix().count())
        .expect("the mix is not empty");
    let mut trace = Trace::new(expected);
    trace.outcome = run_one(http, options, i, (phone, expected, error_id), &mut trace).await;
    trace
}

async fn run_one(
    http: &reqwest::Client,
    options: &LoadOptions,
    i: usize,
    (phone, expected, error_id): (&str, &str, Option<i64>),
    trace: &mut Trace,
) -> Result<String, String> {
    // Forged callbacks claim the opposite of what the simulator will send.
    let forged = if expected == "VALID" {
        "INVALID"
    } else {
        "VALID"
    };
    let key = uuid::Uuid::new_v4().to_string();
    let started = Instant::now();
    let first = start(http, options, phone, &key, trace).await?;
    trace.start_latency = started.elapsed();
    let token = first["token"].as_str().ok_or("no token")?.to_owned();

    // A flaky network made the app send its start twice.
    if i.is_multiple_of(4) {
        let again = start(http, options, phone, &key, trace).await?;
        trace.duplicate_start_replayed = Some(again == first);
        if again != first {
            return Err(format!("a duplicate start answered {again} after {first}"));
        }
    }

    // Someone who knows the token (not the callback secret) tries to settle it their way.
    let forging = i.is_multiple_of(3);
    if forging {
        forge(http, options, &token, forged, trace).await;
    }

    if let Some(redirect) = first["deviceRedirectUrl"].as_str() {
        let url = Url::parse(redirect).map_err(|e| format!("deviceRedirectUrl: {e}"))?;
        device::follow_redirects(http, url, &mut |_| {})
            .await
            .map_err(|e| e.to_string())?;
    }

    let deadline = Instant::now() + options.timeout;
    let final_body = loop {
        trace.polls += 1;
        let (status, wait, body) = poll(http, options, &token).await?;
        match (status, body["status"].as_str()) {
            (200, Some("PENDING")) | (503, _) => {}
            (200, Some(_)) => break body,
            _ => return Err(format!("poll answered {status}: {body}")),
        }
        if Instant::now() + wait > deadline {
            return Err(format!("still PENDING after {:?}", options.timeout));
        }
        tokio::time::sleep(wait).await;
    };

    // After the result, a forged callback still changes nothing.
    if forging {
        forge(http, options, &token, forged, trace).await;
    }
    let status = final_body["status"].as_str().unwrap_or_default().to_owned();
    if final_body["error"]["id"].as_i64() != error_id {
        return Err(format!(
            "{status} with error {} instead of {error_id:?}",
            final_body["error"]["id"]
        ));
    }
    let (_, _, reread) = poll(http, options, &token).await?;
    if reread["status"] != final_body["status"] {
        return Err(format!(
            "result changed from {status} to {} after a forged callback",
            reread["status"]
        ));
    }
    Ok(status)
}

/// One poll: its status, how long it says to wait (2 s when it does not), its body.
async fn poll(
    http: &reqwest::Client,
    options: &LoadOptions,
    token: &str,
) -> Result<(u16, Duration, Value), String> {
    let response = http
        .get(join(&options.api, &format!("verifications/{token}"))?)
        .send()
        .await
        .map_err(|e| format!("poll: {e}"))?;
    let status = response.status().as_u16();
    let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(2));
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Ok((status, wait, body))
}

/// Starts with the app's Idempotency-Key, retrying temporary refusals as an app would.
async fn start(
    http: &reqwest::Client,
    options: &LoadOptions,
    phone: &str,
    key: &str,
    trace: &mut Trace,
) -> Result<Value, String> {
    let deadline = Instant::now() + options.timeout;
    for _ in 0..MAX_START_ATTEMPTS {
        let response = http
            .post(join(&options.api, "verifications")?)
            .header(CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .json(&json!({"phoneNumber": phone}))
            .send()
            .await
            .map_err(|e| format!("start: {e}"))?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(1));
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match status {
            201 => return Ok(body),
            409 | 429 | 503 | 504 => {
                *trace.start_retries.entry(status).or_default() += 1;
                // A limit that tells the app to come back after its timeout refused it: it
                // would wait that long, a load run reports it.
                if Instant::now() + wait > deadline {
                    return Err(format!("start answered {status}, Retry-After {wait:?}"));
                }
                // As told, plus jitter so that refused apps do not all return at once.
                let jitter =
                    Duration::from_millis(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 4);
                tokio::time::sleep(wait + jitter).await;
            }
            _ => return Err(format!("start answered {status}: {body}")),
        }
    }
    Err(format!("start refused {MAX_START_ATTEMPTS} times"))
}

async fn forge(
    http: &reqwest::Client,
    options: &LoadOptions,
    token: &str,
    result: &str,
    trace: &mut Trace,
) {
    let secret = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let body = json!({"result": result, "token": token});
    let Ok(url) = join(
        &options.api,
        &format!("callbacks/infobip/{}", &secret[..43]),
    ) else {
        return;
    };
    trace.forged_sent += 1;
    if let Ok(response) = http.post(url).json(&body).send().await {
        if response.status().as_u16() == 403 {
            trace.forged_refused += 1;
        }
    }
}

fn join(base: &Url, path: &str) -> Result<Url, String> {
    smv_shared::urls_and_headers::join(base, path).map_err(|e| e.to_string())
}
