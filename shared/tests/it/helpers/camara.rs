//! Network-based CAMARA in the tests: the settings that turn it on for German numbers, a start
//! that goes to Infobip's authorize URL, and Infobip's `/verify` answering.

use serde_json::{json, Value};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::app::TestApp;
use super::events::{body_json, body_text, bound_start};

pub const CAMARA_CLIENT_ID: &str = "smv-test-client";
/// A German mobile number: Germany is the CAMARA country of [`CAMARA_ENV`].
pub const GERMAN: &str = "+4915112345678";
pub const CAMARA_VERIFY_PATH: &str = "/camara/number-verification/v0/verify";
pub const CAMARA_ENV: &[(&str, &str)] = &[
    ("VERIFY_METHODS", "DE:camara,*:smv"),
    ("CAMARA_CLIENT_ID", CAMARA_CLIENT_ID),
];

/// The value of query parameter `name` of `url`.
pub fn query_param(url: &Url, name: &str) -> String {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{url} has no {name}"))
        .1
        .into_owned()
}

impl TestApp {
    /// A bound start of [`GERMAN`]: its token and the authorize URL it answered.
    pub async fn start_camara(&self) -> (String, Url) {
        let started = self.send(bound_start(GERMAN)).await;
        assert_eq!(started.status(), 201, "{}", body_text(&started));
        let body = body_json(&started);
        let url = Url::parse(body["deviceRedirectUrl"].as_str().unwrap()).unwrap();
        (body["token"].as_str().unwrap().to_owned(), url)
    }

    /// Infobip's `/verify` answers `status` with `body` from now on.
    pub async fn camara_answers(&self, status: u16, body: Value) {
        Mock::given(method("POST"))
            .and(path(CAMARA_VERIFY_PATH))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.infobip)
            .await;
    }

    /// Infobip's `/verify` says whether the device's number is the one asked.
    pub async fn camara_verifies(&self, verified: bool) {
        self.camara_answers(200, json!({"devicePhoneNumberVerified": verified}))
            .await;
    }
}
