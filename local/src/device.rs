//! `smv-local demo`: plays the mobile app against a backend, local or deployed. It starts a
//! verification, follows the operator's redirect chain by hand carrying cookies (as Infobip's
//! demo app does: automatic redirects off), then polls until the result is final. With
//! `--assertion` it also plays the relying party: it starts with a PKCE challenge and a nonce,
//! takes the device code at the end of the redirects, redeems the VALID verification, and checks
//! the assertion against the JWKS.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use smv_shared::fallback::Channel;
use smv_shared::method_policy::SilentMethod;

use crate::camara_sim;
use crate::test_numbers::{camara_number, CamaraScenario};
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
    /// Redeem a VALID verification for an assertion and check it.
    pub assertion: bool,
    /// When silent verification ends without VALID, fall back to a PIN by this channel, read it
    /// from the simulator's inbox, and enter it.
    pub fallback: Option<Channel>,
    /// The silent method the backend must have used on VALID (`--method`): which method a
    /// number gets is the backend's VERIFY_METHODS, so a demo of CAMARA that ran SMV fails.
    pub method: Option<SilentMethod>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOutcome {
    pub token: String,
    /// VALID, INVALID, ERROR or EXPIRED (the demo-app routes report EXPIRED as ERROR).
    pub result: String,
    pub redirect_hops: usize,
    pub polls: usize,
    /// The checked assertion's claims, with `--assertion` and a VALID result.
    pub claims: Option<Value>,
    /// On VALID: `silent`, `camara`, `sim`, `sms` or `voice`.
    pub method: Option<String>,
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

    // 1. Start (bound to a PKCE challenge and a nonce with --assertion).
    // A fallback also needs the verifier: whoever started is the one who may ask for a PIN.
    // So does the SIM-based flow: the starter submits the SIM's answer with it.
    let sim = options.method == Some(SilentMethod::Sim);
    let binding = (options.assertion || options.fallback.is_some() || sim)
        .then(Binding::generate)
        .transpose()?;
    let (token, redirect, credential_request) =
        start(&http, options, binding.as_ref(), &mut log).await?;

    // 2. The device opens the redirect over cellular data, following each hop by hand, and ends
    // at the backend's return URL, which shows it its code.
    let mut hops = 0;
    let mut device_code = None;
    if let (Some(request), Some(binding)) = (&credential_request, &binding) {
        present_credential(&http, options, &token, request, binding, &mut log).await?;
    } else if let Some(url) = redirect {
        let end;
        (hops, end) = follow_redirects(&http, url, &mut log).await?;
        device_code = end["deviceCode"].as_str().map(str::to_owned);
        if let Some(code) = &device_code {
            log(format!(
                "  → device code {code} (the device keeps it for the app)"
            ));
        }
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
            Some((result, method)) => {
                let (result, method) = match (options.fallback, &binding) {
                    (Some(channel), Some(binding)) if result != "VALID" => {
                        fall_back(&http, options, &token, binding, channel, &mut log).await?
                    }
                    _ => (result, method),
                };
                if let (Some(expected), Some(method)) = (options.method, &method) {
                    if result == "VALID"
                        && method != expected.as_str()
                        && options.fallback.is_none()
                    {
                        return Err(step_error(
                            "poll",
                            format!(
                                "verified by {method}, not {}: the backend's VERIFY_METHODS picks the method by the number's country",
                                expected.as_str()
                            ),
                        ));
                    }
                }
                let claims = match &binding {
                    Some(binding) if options.assertion && result == "VALID" => Some(
                        redeem(
                            &http,
                            options,
                            &token,
                            binding,
                            device_code.as_deref(),
                            &mut log,
                        )
                        .await?,
                    ),
                    _ => None,
                };
                return Ok(DemoOutcome {
                    token,
                    result,
                    redirect_hops: hops,
                    polls,
                    claims,
                    method,
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
    binding: Option<&Binding>,
    log: &mut impl FnMut(String),
) -> Result<(String, Option<Url>, Option<Value>), DemoError> {
    let digits: String = options.phone.chars().filter(char::is_ascii_digit).collect();
    let response = if options.demo_app_routes {
        let url = join(&options.api, &format!("verify/{digits}"))?;
        log(format!("GET {url}"));
        http.get(url).send().await
    } else {
        let url = join(&options.api, "verifications")?;
        let mut body = json!({"phoneNumber": options.phone});
        if let Some(binding) = binding {
            body["codeChallenge"] = json!(binding.challenge);
            body["codeChallengeMethod"] = json!("S256");
            body["nonce"] = json!(binding.nonce);
        }
        if options.method == Some(SilentMethod::Sim) {
            body["method"] = json!("sim");
            body["carrierIds"] = json!([device_carrier(&digits)]);
        }
        log(format!("POST {url} {body}"));
        http.post(url)
            .header(CONTENT_TYPE, "application/json")
            .json(&body)
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
    let credential_request = body.get("credentialRequest").cloned();
    Ok((token, redirect, credential_request))
}

/// The carrier id the simulated device's SIM reports (Android's `getSimCarrierId`): the
/// simulated operator's, but for the test number whose carrier Infobip cannot resolve.
fn device_carrier(digits: &str) -> u32 {
    match camara_number(digits) {
        CamaraScenario::NoCarrier => camara_sim::UNKNOWN_CARRIER_ID,
        _ => camara_sim::SIM_CARRIER_ID,
    }
}

/// Plays Android's Credential Manager with the simulator's SIM (`/_simulator/infobip/camara-wallet`)
/// and submits its `vp_token` as the starter.
async fn present_credential(
    http: &reqwest::Client,
    options: &DemoOptions,
    token: &str,
    request: &Value,
    binding: &Binding,
    log: &mut impl FnMut(String),
) -> Result<(), DemoError> {
    let digits: String = options.phone.chars().filter(char::is_ascii_digit).collect();
    let credential = &request[device_carrier(&digits).to_string()];
    if credential.is_null() {
        return Err(step_error(
            "credential",
            "no credential request for this SIM's carrier",
        ));
    }
    let wallet = join(&options.api, "_simulator/infobip/camara-wallet")?;
    let body = json!({"credential": credential, "phoneNumber": options.phone});
    log(format!(
        "POST {wallet} (Credential Manager: the SIM answers the request)"
    ));
    let (status, answer) = post_json(http, "credential manager", wallet, &body).await?;
    expect_status("credential manager", StatusCode::OK, status, &answer)?;
    let vp_token = answer["vpToken"]
        .as_str()
        .ok_or_else(|| step_error("credential manager", "no vpToken"))?;
    let url = join(&options.api, &format!("verifications/{token}/credential"))?;
    log(format!("POST {url} (the vp_token, not shown)"));
    let body = json!({"vpToken": vp_token, "codeVerifier": binding.verifier});
    let (status, answer) = post_json(http, "credential", url, &body).await?;
    log(format!("  → {status} {answer}"));
    expect_status("credential", StatusCode::OK, status, &answer["detail"])
}

/// Follows `Location` headers one by one, carrying every cookie set so far (as the demo app does).
/// Returns the hops and the JSON the chain ended with (the device code at the return URL).
pub async fn follow_redirects(
    http: &reqwest::Client,
    mut url: Url,
    log: &mut impl FnMut(String),
) -> Result<(usize, Value), DemoError> {
    let mut jar: BTreeMap<String, String> = BTreeMap::new();
    for hop in 0..=MAX_REDIRECTS {
        // As an app's web view asking for JSON: the return URL then answers its code as JSON.
        let mut request = http.get(url.clone()).header(ACCEPT, "application/json");
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
            let end = response.json().await.unwrap_or(Value::Null);
            return Ok((hop, end));
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

/// `Some((result, method on VALID))` once final, `None` while pending.
async fn poll(
    http: &reqwest::Client,
    options: &DemoOptions,
    token: &str,
    log: &mut impl FnMut(String),
) -> Result<Option<(String, Option<String>)>, DemoError> {
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
    let retry_after = smv_shared::urls_and_headers::retry_after(response.headers());
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
            // The demo app's result names no method: its routes are SMV only.
            let method = (result == "VALID").then(|| {
                body["method"]
                    .as_str()
                    .unwrap_or(SilentMethod::Smv.as_str())
                    .to_owned()
            });
            Ok(Some((result, method)))
        }
        other => Err(step_error("poll", format!("HTTP {other}: {body}"))),
    }
}

/// POSTs `body` for `step`: the answer's status and JSON (null when it has none).
async fn post_json(
    http: &reqwest::Client,
    step: &'static str,
    url: Url,
    body: &Value,
) -> Result<(StatusCode, Value), DemoError> {
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| step_error(step, e))?;
    let status = response.status();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// GETs the JSON at `url` for `step`.
async fn get_json(
    http: &reqwest::Client,
    step: &'static str,
    url: Url,
) -> Result<Value, DemoError> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| step_error(step, e))?;
    response.json().await.map_err(|e| step_error(step, e))
}

/// `Err` naming `step`, the status and `what` the answer said, unless the status is `expected`.
fn expect_status(
    step: &'static str,
    expected: StatusCode,
    status: StatusCode,
    what: &Value,
) -> Result<(), DemoError> {
    match status == expected {
        true => Ok(()),
        false => Err(step_error(step, format!("HTTP {status}: {what}"))),
    }
}

fn join(api: &Url, path: &str) -> Result<Url, DemoError> {
    smv_shared::urls_and_headers::join(api, path).map_err(|e| step_error("api", e))
}

/// The app's PKCE verifier and challenge, and the relying party's nonce.
struct Binding {
    verifier: String,
    challenge: String,
    nonce: String,
}

impl Binding {
    fn generate() -> Result<Self, DemoError> {
        let random = |len: usize| {
            let mut bytes = vec![0u8; len];
            getrandom::fill(&mut bytes).map_err(|e| step_error("pkce", e))?;
            Ok::<_, DemoError>(URL_SAFE_NO_PAD.encode(bytes))
        };
        let verifier = random(32)?;
        let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
            &ring::digest::SHA256,
            verifier.as_bytes(),
        ));
        Ok(Self {
            verifier,
            challenge,
            nonce: random(12)?,
        })
    }
}

/// Redeems the VALID verification and checks the assertion as a relying party would: ES256 with
/// a key from the JWKS picked by `kid`, `typ`, `nonce`, `phone_number`, `exp`. Returns its claims.
/// Asks for a PIN, reads it from the simulator's inbox (a real phone would receive it), and
/// enters it. Returns the final status and method.
async fn fall_back(
    http: &reqwest::Client,
    options: &DemoOptions,
    token: &str,
    binding: &Binding,
    channel: Channel,
    log: &mut impl FnMut(String),
) -> Result<(String, Option<String>), DemoError> {
    let url = join(&options.api, &format!("verifications/{token}/fallback"))?;
    let body = json!({"codeVerifier": binding.verifier, "channel": channel.as_str(), "phoneNumber": options.phone});
    log(format!("POST {url} (channel {})", channel.as_str()));
    let (status, answer) = post_json(http, "fallback", url, &body).await?;
    log(format!("  → {status} {answer}"));
    expect_status("fallback", StatusCode::ACCEPTED, status, &answer["detail"])?;
    let digits: String = options.phone.chars().filter(char::is_ascii_digit).collect();
    let inbox = join(&options.api, &format!("_simulator/infobip/inbox/{digits}"))?;
    let sent = get_json(http, "inbox (the simulator's)", inbox.clone()).await?;
    let pin = sent["pin"]
        .as_str()
        .ok_or_else(|| step_error("inbox", "no PIN in the simulator's inbox"))?;
    log(format!("GET {inbox} → the PIN arrived (not shown)"));
    let url = join(&options.api, &format!("verifications/{token}/pin"))?;
    log(format!("POST {url}"));
    let body = json!({"codeVerifier": binding.verifier, "pin": pin});
    let (status, answer) = post_json(http, "pin", url, &body).await?;
    log(format!("  → {status} {answer}"));
    expect_status("pin", StatusCode::OK, status, &answer["detail"])?;
    Ok((
        answer["status"].as_str().unwrap_or("-").to_owned(),
        answer["method"].as_str().map(str::to_owned),
    ))
}

async fn redeem(
    http: &reqwest::Client,
    options: &DemoOptions,
    token: &str,
    binding: &Binding,
    device_code: Option<&str>,
    log: &mut impl FnMut(String),
) -> Result<Value, DemoError> {
    let url = join(&options.api, &format!("verifications/{token}/assertion"))?;
    let mut body = json!({"codeVerifier": binding.verifier, "phoneNumber": options.phone});
    if let Some(code) = device_code {
        body["deviceCode"] = json!(code);
    }
    log(format!("POST {url}"));
    let (status, answer) = post_json(http, "redeem", url, &body).await?;
    expect_status("redeem", StatusCode::OK, status, &answer)?;
    let jws = answer["assertion"]
        .as_str()
        .ok_or_else(|| step_error("redeem", "no assertion in the answer"))?;
    log(format!("  → {status} assertion {} bytes", jws.len()));

    let jwks_url = join(&options.api, ".well-known/jwks.json")?;
    let jwks = get_json(http, "jwks", jwks_url.clone()).await?;
    log(format!("GET {jwks_url}"));
    let claims = check_assertion(jws, &jwks, binding, &options.phone)?;
    log(format!(
        "  → signature, typ, nonce and number check out: {claims}"
    ));
    Ok(claims)
}

fn check_assertion(
    jws: &str,
    jwks: &Value,
    binding: &Binding,
    phone: &str,
) -> Result<Value, DemoError> {
    let bad = |detail: &str| step_error("assertion", detail);
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| bad("not base64url"))
    };
    let parts: Vec<&str> = jws.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(bad("not a compact JWS"));
    };
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| bad("header"))?;
    if header["alg"] != "ES256" || header["typ"] != "smv+jwt" {
        return Err(bad("alg must be ES256 and typ smv+jwt"));
    }
    let key = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == header["kid"]))
        .ok_or_else(|| bad("the kid is not in the JWKS"))?;
    let coordinate = |name: &str| decode(key[name].as_str().unwrap_or_default());
    let point = [vec![0x04], coordinate("x")?, coordinate("y")?].concat();
    let signing_input = &jws[..jws.len() - signature.len() - 1];
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point)
        .verify(signing_input.as_bytes(), &decode(signature)?)
        .map_err(|_| bad("the signature does not verify"))?;
    let claims: Value = serde_json::from_slice(&decode(payload)?).map_err(|_| bad("claims"))?;
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if claims["nonce"] != binding.nonce.as_str()
        || claims["phone_number"] != format!("+{digits}").as_str()
        || claims["phone_number_verified"] != true
        || claims["exp"].as_u64().is_none_or(|exp| exp <= now)
    {
        return Err(bad("the claims are not the ones asked for"));
    }
    Ok(claims)
}
