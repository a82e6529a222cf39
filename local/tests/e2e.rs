//! End to end over real HTTP: the `smv-local` binary on a free port, driven as the mobile app and
//! Infobip's demo app would, for every simulator outcome.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use smv_local::device::{self, DemoOptions};
use url::Url;

struct LocalServer {
    child: Child,
    base: Url,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(env: &[(&str, &str)]) -> LocalServer {
    let mut command = Command::new(env!("CARGO_BIN_EXE_smv-local"));
    command
        .env("PORT", "0")
        .env("PENDING_TIMEOUT_SECONDS", "10")
        .env("RUST_LOG", "warn")
        .env_remove("TABLE_NAME")
        .env_remove("INFOBIP_BASE_URL")
        .env_remove("INFOBIP_API_KEY")
        .env_remove("CALLBACK_BASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("smv-local starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("smv-local prints its address").unwrap();
    let base = first
        .strip_prefix("smv-local listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let base = Url::parse(base).unwrap();
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    LocalServer { child, base }
}

async fn demo(
    server: &LocalServer,
    phone: &str,
    demo_app_routes: bool,
) -> Result<device::DemoOutcome, device::DemoError> {
    let options = DemoOptions {
        api: server.base.clone(),
        phone: phone.into(),
        demo_app_routes,
        timeout: Duration::from_secs(30),
        assertion: false,
        fallback: None,
        method: None,
    };
    device::run(&options, |_| {}).await
}

/// Runs each (phone, expected result) through both route families.
async fn assert_outcomes(server: &LocalServer, cases: &[(&str, &str)]) -> Vec<device::DemoOutcome> {
    let mut outcomes = Vec::new();
    for (phone, expected) in cases {
        for demo_app_routes in [false, true] {
            let outcome = demo(server, phone, demo_app_routes)
                .await
                .unwrap_or_else(|e| panic!("{phone}: {e}"));
            assert_eq!(
                &outcome.result, expected,
                "{phone}, demo-app routes: {demo_app_routes}"
            );
            outcomes.push(outcome);
        }
    }
    outcomes
}

async fn get(server: &LocalServer, path: &str) -> reqwest::Response {
    client()
        .get(server.base.join(path).unwrap())
        .send()
        .await
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn start(server: &LocalServer, phone: &str) -> (u16, Value, Option<String>) {
    let response = client()
        .post(server.base.join("verifications").unwrap())
        .json(&json!({"phoneNumber": phone}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        matches!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/json" | "application/problem+json"
        ),
        "content type"
    );
    (status, response.json().await.unwrap(), retry_after)
}

#[tokio::test]
async fn every_callback_outcome_reaches_the_app_through_both_route_families() {
    let server = start_server(&[]);
    let cases = [
        ("+447911000001", "VALID"),
        ("+447911000002", "INVALID"),
        ("+447911000305", "ERROR"),
        ("+447911000306", "ERROR"),
        ("+5511987654321", "VALID"),
    ];
    let outcomes = assert_outcomes(&server, &cases).await;
    for (outcome, (phone, _)) in outcomes.iter().zip(cases.iter().flat_map(|c| [c, c])) {
        // Brazil has no redirect; elsewhere: device → operator hop → done → our return URL.
        let hops = if phone.starts_with("+55") { 0 } else { 3 };
        assert_eq!(outcome.redirect_hops, hops, "{phone}");
    }
}

#[tokio::test]
async fn the_same_flows_work_with_the_dynamodb_store() {
    let endpoint = std::env::var("SMV_TEST_DYNAMODB_ENDPOINT")
        .expect("SMV_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test, which starts a DynamoDB server (moto)");
    let table = format!("smv-local-e2e-{}", uuid::Uuid::new_v4());
    let server = start_server(&[
        ("TABLE_NAME", &table),
        ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    assert_outcomes(
        &server,
        &[
            ("+447911000001", "VALID"),
            ("+447911000002", "INVALID"),
            ("+447911000306", "ERROR"),
            ("+5511987654321", "VALID"),
        ],
    )
    .await;
}

#[tokio::test]
async fn poll_shows_infobips_error_for_a_device_timeout() {
    let server = start_server(&[]);
    let outcome = demo(&server, "+447911000305", false).await.unwrap();
    let report: Value = get(&server, &format!("verifications/{}", outcome.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["error"]["id"], 305);
    assert_eq!(report["error"]["name"], "EC_MOBILE_DEVICE_TIMEOUT");
}

#[tokio::test]
async fn demo_app_polling_sees_204_until_the_device_follows_the_redirect_with_cookies() {
    let server = start_server(&[]);
    let http = client();
    let started: Value = get(&server, "verify/447911000001")
        .await
        .json()
        .await
        .unwrap();
    let token = started["token"].as_str().unwrap();
    let result_url = server.base.join(&format!("verify/result/{token}")).unwrap();
    assert_eq!(
        http.get(result_url.clone()).send().await.unwrap().status(),
        204
    );

    // Without cookies the operator does not recognise the subscriber and nothing is reported.
    let first = http
        .get(started["deviceRedirectUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 302);
    let hop = server
        .base
        .join(first.headers()["location"].to_str().unwrap())
        .unwrap();
    assert_eq!(http.get(hop).send().await.unwrap().status(), 403);
    assert_eq!(
        http.get(result_url.clone()).send().await.unwrap().status(),
        204
    );

    // The demo app's way: follow each Location by hand, carrying the cookies.
    let outcome = device::run(
        &DemoOptions {
            api: server.base.clone(),
            phone: "+447911000001".into(),
            demo_app_routes: true,
            timeout: Duration::from_secs(30),
            assertion: false,
            fallback: None,
            method: None,
        },
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(outcome.result, "VALID");
    let done = get(&server, &format!("verify/result/{}", outcome.token)).await;
    assert_eq!(done.status(), 200);
    let body: Value = done.json().await.unwrap();
    assert_eq!(
        body,
        json!({"token": outcome.token, "result": "VALID", "errorDescription": null})
    );
}

#[tokio::test]
async fn a_verification_without_callback_expires() {
    let server = start_server(&[]);
    let (primary, demo_app) = tokio::join!(
        demo(&server, "+447911000404", false),
        demo(&server, "+447911000404", true)
    );
    assert_eq!(primary.unwrap().result, "EXPIRED");
    assert_eq!(
        demo_app.unwrap().result,
        "ERROR",
        "the demo app knows no EXPIRED"
    );
}

#[tokio::test]
async fn synchronous_infobip_failures_reach_the_app_as_problems() {
    let server = start_server(&[("INFOBIP_TIMEOUT_MS", "1500")]);
    for (phone, status, retry_after, infobip_error) in [
        ("+447911000400", 422, None, Some(100)),
        ("+447911000422", 422, None, Some(400)),
        ("+447911000500", 502, None, Some(1000)),
        ("+447911000401", 502, None, None),
        ("+447911000429", 503, Some("3"), None),
        ("+447911000503", 503, Some("5"), None),
        ("+447911000504", 504, Some("5"), None),
    ] {
        let (got, body, got_retry_after) = start(&server, phone).await;
        assert_eq!(got, status, "{phone}: {body}");
        assert_eq!(got_retry_after.as_deref(), retry_after, "{phone}");
        assert_eq!(body["status"], status, "{phone}");
        assert_eq!(
            body["error"]["id"].as_i64(),
            infobip_error.map(i64::from),
            "{phone}: {body}"
        );
        if let Some(token) = body["token"].as_str() {
            let poll: Value = get(&server, &format!("verifications/{token}"))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(
                poll["status"], "ERROR",
                "{phone}: a refusal with a token is a final ERROR"
            );
        }
    }
}

#[tokio::test]
async fn device_address_shows_the_tcp_peer_with_its_port() {
    let server = start_server(&[]);
    let body: Value = get(&server, "device-address").await.json().await.unwrap();
    assert_eq!(body["address"], "127.0.0.1");
    assert!(body["port"].as_u64().is_some_and(|p| p > 0), "{body}");
}

#[tokio::test]
async fn bad_input_over_the_wire_gets_problem_json() {
    let server = start_server(&[]);
    let http = client();
    let url = |path: &str| server.base.join(path).unwrap();
    let cases = [
        (
            http.post(url("verifications"))
                .header("content-type", "application/json")
                .body("{not json"),
            400,
        ),
        (
            http.post(url("verifications"))
                .header("content-type", "application/json"),
            400,
        ),
        (
            http.post(url("verifications"))
                .header("content-type", "text/plain")
                .body("hi"),
            415,
        ),
        (
            http.post(url("verifications"))
                .header("content-type", "application/json")
                .body(vec![b' '; 100 * 1024]),
            413,
        ),
        (
            http.post(url("verifications"))
                .header("content-type", "application/json")
                .body(vec![0xff, 0xfe, 0x00]),
            400,
        ),
        (http.get(url("nope")), 404),
        (http.delete(url("verifications")), 405),
        (http.get(url("verifications/not-a-token")), 400),
        (http.post(url("callbacks/infobip/x")).body("{}"), 404),
        (
            http.get(url(&format!("verify/{}", "4".repeat(60_000)))),
            414,
        ),
        (
            http.post(url("verifications"))
                .header("content-type", "application/json")
                .header("idempotency-key", "k".repeat(300))
                .body(r#"{"phoneNumber":"+447911000001"}"#),
            400,
        ),
    ];
    for (request, status) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            status,
            "{:?}",
            response.url().path().get(..40)
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], status, "{body}");
    }
}

#[test]
fn a_malformed_port_is_named_not_a_panic() {
    for args in [&["demo"][..], &[][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_smv-local"))
            .args(args)
            .env("PORT", "abc")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr.contains("PORT must be a port number"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// The load driver, small: every outcome of the mix, duplicate starts, forged callbacks and every
/// callback delivered twice, with nothing lost. (`scripts/load` runs it at 600 on DynamoDB.)
#[tokio::test]
async fn a_small_load_run_loses_nothing_with_duplicate_and_forged_callbacks() {
    let server = start_server(&[
        ("SIMULATOR_DUPLICATE_CALLBACKS", "true"),
        ("LOCAL_CONCURRENCY", "2"),
        ("RATE_LIMIT_PER_PHONE", "0"),
        ("RATE_LIMIT_PER_IP", "0"),
        ("RATE_LIMIT_PER_PHONE_AND_IP", "0"),
        ("RATE_LIMIT_PER_IPV6_48", "0"),
        ("RATE_LIMIT_GLOBAL", "0"),
    ]);
    let options = smv_local::load::LoadOptions {
        api: server.base.clone(),
        verifications: 24,
        sustained: None,
        timeout: Duration::from_secs(60),
    };
    let report = smv_local::load::run(&options).await;
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.verifications, 24);
    assert_eq!(report.duplicate_starts, 6);
    assert_eq!(report.forged_sent, 16);
    // 21 verifications get a result (3 expire: 24 over the mix's 8 numbers), each delivered twice: one copy settles it (or,
    // for Brazil, is kept for the start to apply), the other is acknowledged as a repeat.
    let deliveries = &report.callback_deliveries;
    let recorded = deliveries.get("RECORDED").copied().unwrap_or(0);
    let accepted = deliveries.get("ACCEPTED").copied().unwrap_or(0);
    let repeats = deliveries.get("ALREADY_FINAL").copied().unwrap_or(0);
    assert_eq!(recorded + accepted + repeats, 42, "{deliveries:?}");
    assert!(recorded >= 16 && repeats >= 16, "{deliveries:?}");
}

/// The sustained load, short: apps from addresses of their own complete every verification while
/// an abuser beside them (one number, one address) is refused past its limit with `Retry-After`, and a broken
/// client's starts are problems, changing nothing. (`scripts/load --for` runs it for minutes.)
#[tokio::test]
async fn a_sustained_load_holds_beside_an_abuser_and_a_broken_client() {
    let server = start_server(&[
        ("SIMULATOR_DUPLICATE_CALLBACKS", "true"),
        ("PENDING_TIMEOUT_SECONDS", "10"),
        ("RATE_LIMIT_PER_PHONE", "0"),
        ("RATE_LIMIT_PER_IP", "0"),
        ("RATE_LIMIT_PER_PHONE_AND_IP", "5"),
        ("RATE_LIMIT_PER_PHONE_AND_IP_WINDOW_SECONDS", "3600"),
    ]);
    let options = smv_local::load::LoadOptions {
        api: server.base.clone(),
        verifications: 0,
        sustained: Some((3, Duration::from_secs(4))),
        timeout: Duration::from_secs(60),
    };
    let report = smv_local::load::run(&options).await;
    assert!(report.is_clean(), "{report:?}");
    assert!(report.verifications >= 3, "{report:?}");
    let abuse = report.abuse.as_ref().unwrap();
    assert_eq!(abuse.abuser.get(&201), Some(&5), "{abuse:?}");
    assert!(abuse.abuser.get(&429).is_some_and(|n| *n > 5), "{abuse:?}");
    assert!(abuse.invalid.get(&400).is_some_and(|n| *n > 0), "{abuse:?}");
}

/// `smv-local demo --assertion`: the starter's challenge, the device's code from the return URL,
/// the redeem, and the assertion checked against the JWKS, end to end over HTTP.
#[tokio::test]
async fn demo_with_assertion_redeems_and_checks_a_signed_assertion() {
    let server = start_server(&[]);
    let options = DemoOptions {
        api: server.base.clone(),
        phone: "+44 7911 000001".into(),
        demo_app_routes: false,
        timeout: Duration::from_secs(30),
        assertion: true,
        fallback: None,
        method: None,
    };
    let outcome = device::run(&options, |_| {}).await.unwrap();
    assert_eq!(outcome.result, "VALID");
    let claims = outcome.claims.expect("an assertion");
    assert_eq!(claims["phone_number"], "+447911000001");
    assert_eq!(claims["aud"], "smv-local");
    assert_eq!(claims["iss"], server.base.as_str().trim_end_matches('/'));
    // The same verification cannot be redeemed twice, and its poll says so.
    let report: Value = get(&server, &format!("verifications/{}", outcome.token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["assertion"], "redeemed");
}

/// What a browser sees of the page, over the wire: the security headers, and cross-origin calls
/// answered as API Gateway answers them with the template's `CorsConfiguration`.
#[tokio::test]
async fn the_web_page_and_cors_over_the_wire() {
    let server = start_server(&[("CORS_ALLOWED_ORIGINS", "https://shop.example.com")]);
    let page = get(&server, "/web").await;
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/html"));
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let policy = header("content-security-policy");
    for part in [
        "default-src 'none'",
        "script-src 'sha256-",
        "frame-ancestors 'none'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(part), "{part} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = page.text().await.unwrap();
    for needed in [
        r#"type="tel""#,
        r#"autocomplete="tel""#,
        r#"name="phoneNumber""#,
        r#"id="result""#,
        r#"<label for="phone">"#,
    ] {
        assert!(html.contains(needed), "{needed}");
    }

    let preflight = |origin: &'static str| {
        client()
            .request(
                reqwest::Method::OPTIONS,
                server.base.join("/verifications").unwrap(),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://shop.example.com").await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    assert!(allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("content-type"));
    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 204);
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    // The call itself: readable by the allowed origin's page only.
    let from = |origin: &'static str| {
        client()
            .post(server.base.join("/verifications").unwrap())
            .header("origin", origin)
            .header("sec-fetch-site", "cross-site")
            .json(&json!({"phoneNumber": "+447911000001"}))
            .send()
    };
    let started = from("https://shop.example.com").await.unwrap();
    assert_eq!(started.status(), 201);
    assert_eq!(
        started.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    let elsewhere = from("https://evil.example").await.unwrap();
    assert_eq!(elsewhere.status(), 403);
    assert!(elsewhere
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    // Off where configured.
    let without = start_server(&[("WEB_PAGE", "false")]);
    assert_eq!(get(&without, "/web").await.status(), 404);
}

/// `smv-local demo +447911000306 --fallback sms --assertion`: silent verification ends in ERROR
/// 306 (Wi-Fi), the app asks for a PIN, the simulator's SIM-swap check passes, the PIN lands in
/// the simulator's inbox, the app enters it, and the assertion says `amr: ["sms"]`. The test
/// numbers for a swapped SIM, no coverage and a failed send refuse with their own problems.
#[tokio::test]
async fn the_pin_fallback_end_to_end_with_the_simulator() {
    // Each run starts and asks for a PIN for the same number from the same address.
    let server = start_server(&[("RATE_LIMIT_PER_PHONE_AND_IP", "0")]);
    let options = |phone: &str, channel| DemoOptions {
        api: server.base.clone(),
        phone: phone.into(),
        demo_app_routes: false,
        timeout: Duration::from_secs(30),
        assertion: true,
        fallback: Some(channel),
        method: None,
    };
    use smv_shared::fallback::Channel;
    for (channel, amr) in [(Channel::Sms, "sms"), (Channel::Voice, "tel")] {
        let outcome = device::run(&options("+447911000306", channel), |_| {})
            .await
            .unwrap();
        assert_eq!(outcome.result, "VALID");
        assert_eq!(outcome.method.as_deref(), Some(channel.as_str()));
        assert_eq!(outcome.claims.expect("an assertion")["amr"], json!([amr]));
    }
    for (phone, problem) in [
        ("+447911000307", "This number's SIM changed recently"),
        ("+447911000308", "cannot be checked"),
        ("+447911000311", "could not be sent"),
    ] {
        let failed = device::run(&options(phone, Channel::Sms), |_| {})
            .await
            .unwrap_err();
        assert!(failed.to_string().contains(problem), "{phone}: {failed}");
    }
    // The inbox is the simulator's: a number nothing was sent to has none.
    assert_eq!(
        get(&server, "/_simulator/infobip/inbox/447911000001")
            .await
            .status(),
        404
    );
}

/// `smv-local infobip-setup` against the simulator's 2FA: it prints the ids to configure, and
/// refuses a key without access.
#[test]
fn infobip_setup_creates_the_application_and_prints_the_ids() {
    let server = start_server(&[]);
    let base = format!("{}_simulator/infobip", server.base);
    let run = |key: &str| {
        Command::new(env!("CARGO_BIN_EXE_smv-local"))
            .args(["infobip-setup", "--brand", "Acme"])
            .env("INFOBIP_BASE_URL", &base)
            .env("INFOBIP_ADMIN_API_KEY", key)
            .output()
            .unwrap()
    };
    let done = run("smv-local-simulator-key");
    let printed = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{printed}");
    let id = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {printed}"))
            .to_owned()
    };
    assert_eq!(id("TWOFA_APPLICATION_ID").len(), 32);
    assert_eq!(id("TWOFA_MESSAGE_ID").len(), 32);
    let refused = run("not-the-key");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("credentials"));
}

/// `smv-local demo --method camara`: the simulator's German numbers go through Infobip's
/// authorize URL, the simulated operator and back to `/camara/return`, one per outcome; the VALID
/// one redeems an assertion whose `amr` says CAMARA.
#[tokio::test]
async fn demo_method_camara_completes_every_outcome_through_the_simulated_operator() {
    use smv_local::test_numbers::{CamaraScenario, CAMARA_DEMO_NUMBER, CAMARA_NUMBERS};
    use smv_shared::method_policy::SilentMethod;
    let server = start_server(&[]);
    let options = |phone: &str, assertion| DemoOptions {
        api: server.base.clone(),
        phone: phone.into(),
        demo_app_routes: false,
        timeout: Duration::from_secs(30),
        assertion,
        fallback: None,
        method: Some(SilentMethod::Camara),
    };
    let outcome = device::run(&options(CAMARA_DEMO_NUMBER, true), |_| {})
        .await
        .unwrap();
    assert_eq!(outcome.method.as_deref(), Some("camara"));
    let claims = outcome.claims.expect("an assertion");
    assert_eq!(claims["amr"], json!(["camara"]));
    assert_eq!(claims["phone_number"], CAMARA_DEMO_NUMBER);
    assert!(outcome.redirect_hops >= 2, "authorize, operator, back");

    for row in CAMARA_NUMBERS {
        let expected = match row.scenario {
            CamaraScenario::Verified => "VALID",
            CamaraScenario::NotVerified => "INVALID",
            CamaraScenario::AuthorizeError(_) => "ERROR",
            CamaraScenario::VerifyError(status, _) if status < 500 => "ERROR",
            // Infobip failing: the device is told to retry, the verification waits.
            CamaraScenario::VerifyError(..) => {
                let failed = device::run(&options(row.number, false), |_| {}).await;
                assert!(
                    failed.unwrap_err().to_string().contains("503"),
                    "{}",
                    row.number
                );
                continue;
            }
            // SIM-based only.
            CamaraScenario::NoCarrier => continue,
        };
        let outcome = device::run(&options(row.number, false), |_| {})
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", row.number));
        assert_eq!(outcome.result, expected, "{}", row.number);
    }

    // A British number is SMV here, so a CAMARA demo of it says the backend chose otherwise.
    let smv = device::run(&options("+447911000001", false), |_| {}).await;
    assert!(smv
        .unwrap_err()
        .to_string()
        .contains("verified by silent, not camara"));
}

/// `smv-local demo --method sim`: the device simulator plays Android's Credential Manager with
/// the simulator's SIM, over whatever network; every CAMARA test number gives its outcome, the
/// demo number an assertion whose `amr` says SIM-based.
#[tokio::test]
async fn demo_method_sim_completes_every_outcome_through_the_simulated_credential_manager() {
    use smv_local::test_numbers::{CamaraScenario, CAMARA_DEMO_NUMBER, CAMARA_NUMBERS};
    use smv_shared::method_policy::SilentMethod;
    let server = start_server(&[]);
    let options = |phone: &str, assertion| DemoOptions {
        api: server.base.clone(),
        phone: phone.into(),
        demo_app_routes: false,
        timeout: Duration::from_secs(30),
        assertion,
        fallback: None,
        method: Some(SilentMethod::Sim),
    };
    let outcome = device::run(&options(CAMARA_DEMO_NUMBER, true), |_| {})
        .await
        .unwrap();
    assert_eq!(outcome.method.as_deref(), Some("sim"));
    assert_eq!(outcome.redirect_hops, 0, "nothing to open: the SIM answers");
    let claims = outcome.claims.expect("an assertion");
    assert_eq!(claims["amr"], json!(["camara-sim"]));

    for row in CAMARA_NUMBERS {
        let run = device::run(&options(row.number, false), |_| {}).await;
        match row.scenario {
            // The operator's authorize step is the network-based flow's: the SIM answers anyway.
            CamaraScenario::Verified | CamaraScenario::AuthorizeError(_) => {
                assert_eq!(run.unwrap().result, "VALID", "{}", row.number)
            }
            CamaraScenario::NotVerified => {
                assert_eq!(run.unwrap().result, "INVALID", "{}", row.number)
            }
            CamaraScenario::VerifyError(status, _) if status < 500 => {
                assert_eq!(run.unwrap().result, "ERROR", "{}", row.number)
            }
            CamaraScenario::VerifyError(..) => {
                let failed = run.unwrap_err().to_string();
                assert!(
                    failed.contains("credential: HTTP 503"),
                    "{}: {failed}",
                    row.number
                );
            }
            // The device's only carrier is one Infobip cannot ask: refused at the start.
            CamaraScenario::NoCarrier => {
                let failed = run.unwrap_err().to_string();
                assert!(
                    failed.contains("start: HTTP 422"),
                    "{}: {failed}",
                    row.number
                );
            }
        }
    }
}
