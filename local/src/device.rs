//! `smv-local demo`: plays the mobile app against a backend, local or deployed. It starts a
//! verification, follows the operator's redirect chain by hand carrying cookies (as Infobip's
//! demo app does: automatic redirects off), then polls until the result is final.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use url::Url;

const MAX_REDIRECTS: usize = 10;
/// The demo app's per-request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(8);

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub api: Url,
    pub phone: String,
    /// Use the demo app's routes (`GET /verify/{msisdn}`, `GET /verify/result/{token}`).
    pub demo_app_routes: bool,
    /// Give up polling after this long.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOutcome {
    pub token: String,
    /// VALID, INVALID, ERROR or EXPIRED (the demo-app routes report EXPIRED as ERROR).
    pub result: String,
    pub redirect_hops: usize,
    pub polls: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{step}: {detail}")]
    Step { step: &'static str, detail: String },
}

fn step_error(step: &'static str, detail: impl ToString) -> DemoError {
    DemoError::Step {
        step,
        detail: detail.to_string(),
    }
}

/// Runs one verification; `say` receives one line per step, with the time since the start.
pub async fn run(
    options: &DemoOptions,
    mut say: impl FnMut(String),
) -> Result<DemoOutcome, DemoError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| step_error("client", e))?;
    let began = Instant::now();
    let mut log = |line: String| say(format!("[{:>6} ms] {line}", began.elapsed().as_millis()));

    // 1. Start.
    let (token, redirect) = start(&http, options, &mut log).await?;

    // 2. The device opens the redirect over cellular data, following each hop by hand.
    let mut hops = 0;
    if let Some(url) = redirect {
        hops = follow_redirects(&http, url, &mut log).await?;
    } else {
        log("no deviceRedirectUrl (Brazilian OK flow): nothing for the device to open".into());
    }

    // 3. Poll until final.
    let deadline = Instant::now() + options.timeout;
    let mut interval = Duration::from_secs(1);
    let mut polls = 0;
    loop {
        polls += 1;
        match poll(&http, options, &token, &mut log).await? {
            Some(result) => {
                return Ok(DemoOutcome {
                    token,
                    result,
                    redirect_hops: hops,
                    polls,
                });
            }
            None if Instant::now() + interval > deadline => {
                return Err(step_error(
                    "poll",
                    format!("no result after {:?}", options.timeout),
                ));
            }
            None => {
                tokio::time::sleep(interval).await;
                interval = (interval * 3 / 2).min(MAX_POLL_INTERVAL);
            }
        }
    }
}

async fn start(
    http: &reqwest::Client,
    options: &DemoOptions,
    log: &mut impl FnMut(String),
) -> Result<(String, Option<Url>), DemoError> {
    let digits: String = options.phone.chars().filter(char::is_ascii_digit).collect();
    let response = if options.demo_app_routes {
        let url = join(&options.api, &format!("verify/{digits}"))?;
        log(format!("GET {url}"));
        http.get(url).send().await
    } else {
        let url = join(&options.api, "verifications")?;
        log(format!(
            "POST {url} {{\"phoneNumber\": \"{}\"}}",
            options.phone
        ));
        http.post(url)
            .header(CONTENT_TYPE, "application/json")
            .json(&json!({"phoneNumber": options.phone}))
            .send()
            .await
    }
    .map_err(|e| step_error("start", e))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let accepted = if options.demo_app_routes {
        status == StatusCode::OK
    } else {
        status == StatusCode::CREATED
    };
    if !accepted {
        let detail = body
            .get("detail")
            .or_else(|| body.get("errorDescription"))
            .cloned()
            .unwrap_or(Value::Null);
        return Err(step_error("start", format!("HTTP {status}: {detail}")));
    }
    let token = body["token"]
        .as_str()
        .ok_or_else(|| step_error("start", "no token in the answer"))?
        .to_owned();
    let redirect = match body["deviceRedirectUrl"].as_str() {
        Some(raw) => Some(
            Url::parse(raw).map_err(|e| step_error("start", format!("deviceRedirectUrl: {e}")))?,
        ),
        None => None,
    };
    log(format!(
        "  → {status} token={token} status={}",
        body["status"].as_str().unwrap_or("-")
    ));
    Ok((token, redirect))
}

/// Follows `Location` headers one by one, carrying every cookie set so far (as the demo app does).
pub async fn follow_redirects(
    http: &reqwest::Client,
    mut url: Url,
    log: &mut impl FnMut(String),
) -> Result<usize, DemoError> {
    let mut jar: BTreeMap<String, String> = BTreeMap::new();
    for hop in 0..=MAX_REDIRECTS {
        let mut request = http.get(url.clone());
        if !jar.is_empty() {
            let cookie = jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(COOKIE, cookie);
        }
        let response = request
            .send()
            .await
            .map_err(|e| step_error("redirect", e))?;
        let status = response.status();
        for set_cookie in response.headers().get_all(SET_COOKIE) {
            if let Some((name, value)) = set_cookie
                .to_str()
                .ok()
                .and_then(|c| c.split(';').next())
                .and_then(|c| c.split_once('='))
            {
                jar.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        log(format!("GET {url} → {status}"));
        if !status.is_redirection() {
            if !status.is_success() {
                return Err(step_error(
                    "redirect",
                    format!("the chain ended with HTTP {status}"),
                ));
            }
            return Ok(hop);
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .ok_or_else(|| step_error("redirect", "a redirect without Location"))?;
        url = url.join(location).map_err(|e| step_error("redirect", e))?;
    }
    Err(step_error(
        "redirect",
        format!("more than {MAX_REDIRECTS} redirects"),
    ))
}

/// `Some(result)` once final, `None` while pending.
async fn poll(
    http: &reqwest::Client,
    options: &DemoOptions,
    token: &str,
    log: &mut impl FnMut(String),
) -> Result<Option<String>, DemoError> {
    let path = if options.demo_app_routes {
        format!("verify/result/{token}")
    } else {
        format!("verifications/{token}")
    };
    let url = join(&options.api, &path)?;
    let response = http
        .get(url.clone())
        .send()
        .await
        .map_err(|e| step_error("poll", e))?;
    let status = response.status();
    let retry_after = smv_shared::web::retry_after(response.headers());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let field = if options.demo_app_routes {
        "result"
    } else {
        "status"
    };
    let result = body[field].as_str().unwrap_or("-").to_owned();
    log(format!(
        "GET {url} → {status} {result}{}",
        retry_after
            .map(|r| format!(" (Retry-After: {})", r.as_secs()))
            .unwrap_or_default()
    ));
    match status {
        StatusCode::NO_CONTENT => Ok(None),
        StatusCode::OK if result == "PENDING" => Ok(None),
        StatusCode::OK => {
            if let Some(description) = body
                .get("errorDescription")
                .and_then(Value::as_str)
                .or_else(|| body["error"]["description"].as_str())
            {
                log(format!("  error: {description}"));
            }
            Ok(Some(result))
        }
        other => Err(step_error("poll", format!("HTTP {other}: {body}"))),
    }
}

fn join(api: &Url, path: &str) -> Result<Url, DemoError> {
    smv_shared::web::join(api, path).map_err(|e| step_error("api", e))
}
