//! Every file in `events/` (what `sam local invoke -e` would send) goes through lambda_http's own
//! parsing and the real handler of the function it is named for.

use std::path::{Path, PathBuf};

use crate::helpers::*;
use serde_json::{json, Value};
use smv_shared::config::{CallbackConfig, FromEnv, PollConfig, StartConfig};
use smv_shared::http::all_routes;
use smv_shared::Function;

/// The state in `events/poll.*.get-camara-return.json`.
const EVENT_CAMARA_STATE: &str =
    "6f1c0e2a-4b1d-4c56-9a7e-2f1b3c4d5e6f.Xx4tPEtaaXiHlqW0w9Lh8DjIflOnQ2ZXQKLAyGix3gE";

/// The OpenID Provider with the client the events in `events/` name.
fn oidc_env() -> Vec<(&'static str, &'static str)> {
    use std::sync::OnceLock;
    static FILE: OnceLock<String> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let clients = json!([{"client_id": "example-rp",
            "client_secret": "example-rp-secret-0123456789abcdef0123",
            "redirect_uris": ["https://rp.example.com/callback"], "scope": "openid phone"}]);
        let path =
            std::env::temp_dir().join(format!("event-clients-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, clients.to_string()).unwrap();
        path.to_string_lossy().into_owned()
    });
    vec![
        ("OIDC_CLIENTS_FILE", file.as_str()),
        (
            "SUBJECT_KEY",
            "a-subject-key-of-at-least-32-bytes-for-events",
        ),
    ]
}

fn event_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json") && p.file_name().unwrap() != "env.json"
        })
        .collect();
    files.sort();
    files
}

/// Files are named `{binary}.{api}.{route}.json`.
fn function_of(file: &Path) -> Function {
    let name = file.file_name().unwrap().to_str().unwrap();
    let binary = name.split('.').next().unwrap();
    Function::from_binary(binary).unwrap_or_else(|| panic!("{name}: no function named {binary}"))
}

#[tokio::test]
async fn every_event_file_is_served_by_its_function() {
    let files = event_files();
    assert_eq!(
        files.len(),
        2 * all_routes().len(),
        "a REST and an HTTP API form of every route"
    );
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        let mut raw = std::fs::read_to_string(&file).unwrap();
        let function = function_of(&file);
        let camara_return = name.contains("get-camara-return");
        let oidc = ["openid-configuration", "authorize", "-token", "userinfo"]
            .iter()
            .any(|route| name.contains(route));
        let t = match (camara_return, oidc) {
            (true, _) => test_app_env(CAMARA_ENV).await,
            (_, true) => test_app_env(&oidc_env()).await,
            _ => test_app().await,
        };
        let starts = name.contains("post-verifications") || name.contains("verify-msisdn");
        if camara_return {
            // The event's state is a stand-in: a state is random, so this verification's is put
            // in its place (everywhere the event carries the query).
            let (_, authorize) = t.start_camara().await;
            let state = query_param(&authorize, "state");
            raw = raw.replace(EVENT_CAMARA_STATE, &state);
            t.camara_verifies(true).await;
        } else if function == Function::Poll {
            t.start_pending(TOKEN).await;
        } else if starts {
            t.infobip_redirects(TOKEN).await;
        }
        let request =
            lambda_http::request::from_str(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));

        let response = t.send_to(function, request).await;

        let body = body_json(&response);
        let expected = match name.rsplit('.').nth(1).unwrap() {
            "post-verifications" => 201,
            "get-verify-msisdn" | "get-device-address" | "post-callback" | "get-verification" => {
                200
            }
            "get-verify-result" => 204,
            // A return URL issued under env.json's key shows its code; the key set is public.
            "get-return" | "get-jwks" | "get-web" => 200,
            // The operator's code is exchanged at once: the result is recorded and shown.
            "get-camara-return" => 200,
            // The sign-in page for the registered example client.
            "get-openid-configuration" | "get-authorize" => 200,
            // The event's token names a verification still PENDING here.
            "post-authorize-complete" => 409,
            // The client authenticates; its code names no verification of this store.
            "post-token" => 400,
            "get-userinfo" | "post-userinfo" => 401,
            // The verification is still PENDING: nothing to redeem yet.
            "post-assertion" => 409,
            // The event's token names an SMV verification here: only a SIM-based one takes the
            // SIM's answer.
            "post-credential" => 404,
            // No verification with the event's token was started here.
            "post-fallback" | "post-pin" => 404,
            other => panic!("no expectation for {other}"),
        };
        assert_eq!(response.status(), expected, "{name}: {body}");
        if camara_return {
            assert_eq!(body["status"], "VALID", "{name}");
        }
        if name.contains("device-address") {
            assert_eq!(body, json!({"address": DEVICE_IP, "port": null}), "{name}");
        }
        if starts {
            let sent = t.infobip_requests().await;
            assert_eq!(
                sent[0]["deviceIp"], DEVICE_IP,
                "{name}: X-Forwarded-For must not win"
            );
            assert!(
                sent[0].get("devicePort").is_none(),
                "{name}: X-Forwarded-Port is not the device's port"
            );
        }
    }
}

#[test]
fn env_json_configures_every_function_with_what_it_reads() {
    let raw =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/env.json"))
            .unwrap();
    let env: Value = serde_json::from_str(&raw).unwrap();
    for (function, needs_infobip) in [
        ("StartVerifyFunction", true),
        ("CallbackFunction", false),
        ("PollFunction", false),
    ] {
        let poll = function == "PollFunction";
        let vars = env[function]
            .as_object()
            .unwrap_or_else(|| panic!("{function} missing"));
        let lookup = |name: &str| vars.get(name).and_then(Value::as_str).map(String::from);
        let read = match (needs_infobip, poll) {
            (true, _) => StartConfig::from_lookup(lookup).map(drop),
            (false, true) => PollConfig::from_lookup(lookup).map(drop),
            (false, false) => CallbackConfig::from_lookup(lookup).map(drop),
        };
        assert!(read.is_ok(), "{function}: {:?}", read.err());
        assert_eq!(
            vars.contains_key("INFOBIP_API_KEY_SECRET_ARN"),
            needs_infobip || poll,
            "{function}: only the functions that call Infobip hold the key"
        );
    }
}
