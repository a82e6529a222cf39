//! How the start and poll functions reach Infobip, and the callback URLs Infobip is given: the base URL,
//! the key, the timeout; our public callback base and the key that tags callback secrets.

use std::time::Duration;

use url::Url;

use super::common::key_source;
use super::setting::{Env, Kind, Setting, Template};
use super::{ConfigError, Function};
use crate::callback_secret::CallbackKey;
use crate::infobip::ApiKey;
use crate::keys::KeySource;

const START: &[Function] = &[Function::Start];
/// The poll function asks Infobip's SIM-swap check before it signs.
const START_AND_POLL: &[Function] = &[Function::Start, Function::Poll];

pub const INFOBIP_BASE_URL: Setting = Setting::new(
    "INFOBIP_BASE_URL",
    Kind::Text {
        default: Some("https://api.infobip.com"),
    },
    START_AND_POLL,
    Template::Parameter("InfobipBaseUrl"),
);
/// Below the demo app's 10 s request timeout, so the app hears our 504 rather than its own.
pub const INFOBIP_TIMEOUT_MS: Setting = Setting::number(
    "INFOBIP_TIMEOUT_MS",
    6000,
    100..=60_000,
    START_AND_POLL,
    "InfobipTimeoutMs",
)
.in_template(Template::Differs {
    parameter: "InfobipTimeoutMs",
    why: "at most 8 s in the template: the start function's timeout is 10 s",
});
pub const INFOBIP_API_KEY_SECRET_ARN: Setting = Setting::secret(
    "INFOBIP_API_KEY_SECRET_ARN",
    START_AND_POLL,
    "the InfobipApiKeySecret parameter",
);
pub const INFOBIP_API_KEY: Setting = Setting::local_key("INFOBIP_API_KEY", START_AND_POLL);
/// Public base of our callback URLs; derived from the API Gateway request when unset.
pub const CALLBACK_BASE_URL: Setting = Setting::text("CALLBACK_BASE_URL", START, "CallbackBaseUrl");
/// Tags the callback URLs' secrets (start) and tells them from forged ones (callback).
pub const CALLBACK_SECRET_KEY_SECRET_ARN: Setting = Setting::secret(
    "CALLBACK_SECRET_KEY_SECRET_ARN",
    START_AND_CALLBACK,
    "the CallbackSecretKey the stack generates",
);
pub const CALLBACK_SECRET_KEY: Setting =
    Setting::local_key("CALLBACK_SECRET_KEY", START_AND_CALLBACK);
const START_AND_CALLBACK: &[Function] = &[Function::Start, Function::Callback];

pub const SETTINGS: &[Setting] = &[
    INFOBIP_BASE_URL,
    INFOBIP_TIMEOUT_MS,
    INFOBIP_API_KEY_SECRET_ARN,
    INFOBIP_API_KEY,
    CALLBACK_BASE_URL,
    CALLBACK_SECRET_KEY_SECRET_ARN,
    CALLBACK_SECRET_KEY,
];

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct InfobipConfig {
    pub base_url: Url,
    pub api_key: KeySource,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

impl InfobipConfig {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let timeout = env.millis(&INFOBIP_TIMEOUT_MS)?;
        let base_url = env.required(&INFOBIP_BASE_URL)?;
        Ok(Self {
            base_url: parse_base_url(INFOBIP_BASE_URL.name, &base_url)?,
            api_key: key_source::<ApiKey>(env, &INFOBIP_API_KEY_SECRET_ARN, &INFOBIP_API_KEY)?,
            connect_timeout: timeout.min(CONNECT_TIMEOUT),
            timeout,
        })
    }
}

pub(super) fn callback_base_url(env: &Env<'_>) -> Result<Option<Url>, ConfigError> {
    env.text(&CALLBACK_BASE_URL)
        .map(|raw| parse_base_url(CALLBACK_BASE_URL.name, &raw))
        .transpose()
}

pub(super) fn callback_key(env: &Env<'_>) -> Result<KeySource, ConfigError> {
    key_source::<CallbackKey>(env, &CALLBACK_SECRET_KEY_SECRET_ARN, &CALLBACK_SECRET_KEY)
}

fn parse_base_url(name: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let problem = |p: &str| ConfigError {
        name,
        problem: p.to_owned(),
    };
    let url = Url::parse(raw.trim())
        .map_err(|_| problem("must be an absolute URL with a scheme, e.g. https://example.com"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(problem("must be an http(s) URL with a host"));
    }
    // In clear text the API key (Infobip) or the callback secrets (ours) would cross the network.
    if url.scheme() == "http" && !super::web::is_loopback(&url) {
        return Err(problem("must be https (http only for a loopback address)"));
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(problem("must not carry credentials, a query or a fragment"));
    }
    Ok(url)
}
