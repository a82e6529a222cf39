//! Configuration from the environment, read once at start-up. A missing or malformed setting stops
//! the function before it serves anything, with a message naming the variable.

use std::time::Duration;

use url::Url;

use crate::assertion::Policy;
use crate::callback_secret::CallbackKey;
use crate::device_address::{AddressPolicy, CloudFrontTrust, OriginSecret};
use crate::fallback::{
    FallbackPolicy, OnUnknownSwap, DEFAULT_FALLBACK_AFTER, DEFAULT_PIN_MAX_ATTEMPTS,
    DEFAULT_PIN_MAX_SENDS, DEFAULT_SIM_SWAP_CHECK_HOURS,
};
use crate::infobip::ApiKey;
use crate::phone_hash::PhoneHashKey;
use crate::rate_limit::{
    Limit, RateLimits, DEFAULT_GLOBAL, DEFAULT_PER_IP, DEFAULT_PER_IPV6_48, DEFAULT_PER_PHONE,
    DEFAULT_PER_PHONE_AND_IP,
};
use crate::verification::Lifetimes;

pub const DEFAULT_INFOBIP_BASE_URL: &str = "https://api.infobip.com";
/// Below the demo app's 10 s request timeout, so the app hears our 504 rather than its own.
pub const DEFAULT_INFOBIP_TIMEOUT: Duration = Duration::from_secs(6);
const INFOBIP_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Long enough for a device to finish the operator's redirects and for Infobip's own device
/// timeout (error 305) to arrive; short enough that an abandoned attempt stops being PENDING.
pub const DEFAULT_PENDING_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a result stays readable. An hour covers an app that polls late or resumes from the
/// background; the phone's ownership proof is not something to keep for long.
pub const DEFAULT_RECORD_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {name} {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

#[derive(Debug, Clone)]
pub struct InfobipConfig {
    pub base_url: Url,
    pub api_key: ApiKey,
    pub connect_timeout: Duration,
    pub timeout: Duration,
}

/// What every function reads.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    pub table_name: String,
    pub lifetimes: Lifetimes,
}

/// What the function that starts verifications reads besides: it alone calls Infobip, so it
/// alone holds the key, and it alone resolves device addresses and counts starts.
#[derive(Debug, Clone)]
pub struct StartConfig {
    pub common: CommonConfig,
    /// Public base of our callback URLs; derived from the API Gateway request when `None`.
    pub callback_base_url: Option<Url>,
    pub address_policy: AddressPolicy,
    pub infobip: InfobipConfig,
    pub rate_limits: RateLimits,
    /// Names phone numbers in rate-limit counters and Idempotency-Key records.
    pub phone_hash_key: PhoneHashKey,
    /// Tags the callback URLs' secrets.
    pub callback_key: CallbackKey,
    /// Origins (exact, `https://shop.example.com`) whose pages may start verifications.
    pub allowed_origins: Vec<String>,
    /// Serve Infobip's demo-app routes (`GET /verify/...`, `GET /device-address`): a GET that
    /// starts a billed verification is off unless wanted.
    pub demo_app_routes: bool,
    pub fallback: FallbackPolicy,
    /// The 2FA application and message template PINs are sent with; `None` while fallback is off.
    pub twofa: Option<TwoFactorIds>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorIds {
    pub application_id: String,
    pub message_id: String,
}

/// What the callback function reads besides: the key that tells a callback URL we issued from a
/// forged one.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    pub common: CommonConfig,
    pub callback_key: CallbackKey,
}

/// What the poll function reads besides: it redeems VALID verifications for signed assertions.
#[derive(Debug, Clone)]
pub struct PollConfig {
    pub common: CommonConfig,
    /// Compares the number a redeem names with the one verified; checks return URLs.
    pub phone_hash_key: PhoneHashKey,
    pub assertions: AssertionConfig,
    /// Serve `GET /verify/result/{token}` for Infobip's demo app.
    pub demo_app_routes: bool,
    /// Serve the verification page for browsers, `GET /web` (on unless `WEB_PAGE=false`).
    pub web_page: bool,
    /// What a poll says of a fallback (countries, deadline, after INVALID).
    pub fallback: FallbackPolicy,
}

#[derive(Debug, Clone)]
pub struct AssertionConfig {
    pub policy: Policy,
    /// The KMS key (its ARN) that signs; the Lambda function requires it, `smv-local` may sign
    /// with a key of its own instead.
    pub key_id: Option<String>,
    /// Keys published in the JWKS beside the signing key, for a rotation.
    pub published_key_ids: Vec<String>,
}

/// RFC 8725 and OIDC practice: a few minutes is enough to carry an assertion to the relying
/// party, and little for anyone who intercepts it.
pub const DEFAULT_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// The variables every function reads; [`STARTER_VARIABLES`] are read only by the function that
/// starts verifications, [`CALLBACK_VARIABLES`] by the callback function, [`POLL_VARIABLES`] by
/// the poll function. `template.yaml` sets exactly
/// these on each function (a test holds it to it).
pub const COMMON_VARIABLES: &[&str] = &[
    "TABLE_NAME",
    "PENDING_TIMEOUT_SECONDS",
    "RECORD_TTL_SECONDS",
];
pub const STARTER_VARIABLES: &[&str] = &[
    "CALLBACK_BASE_URL",
    "INFOBIP_BASE_URL",
    "INFOBIP_TIMEOUT_MS",
    "INFOBIP_API_KEY",
    "PHONE_HASH_KEY",
    "CALLBACK_SECRET_KEY",
    "CORS_ALLOWED_ORIGINS",
    "DEMO_APP_ROUTES",
    "ALB_TRUSTED_PROXY_HOPS",
    "TRUST_CLOUDFRONT_VIEWER_ADDRESS",
    "CLOUDFRONT_ORIGIN_SECRET_HEADER",
    "CLOUDFRONT_ORIGIN_SECRET",
    "RATE_LIMIT_PER_PHONE",
    "RATE_LIMIT_PER_PHONE_WINDOW_SECONDS",
    "RATE_LIMIT_PER_IP",
    "RATE_LIMIT_PER_IP_WINDOW_SECONDS",
    "RATE_LIMIT_PER_IPV6_48",
    "RATE_LIMIT_PER_IPV6_48_WINDOW_SECONDS",
    "RATE_LIMIT_PER_PHONE_AND_IP",
    "RATE_LIMIT_PER_PHONE_AND_IP_WINDOW_SECONDS",
    "RATE_LIMIT_GLOBAL",
    "RATE_LIMIT_GLOBAL_WINDOW_SECONDS",
    "FALLBACK_COUNTRIES",
    "FALLBACK_AFTER_SECONDS",
    "FALLBACK_ON_INVALID",
    "SIM_SWAP_CHECK_HOURS",
    "SIM_SWAP_ON_UNKNOWN",
    "PIN_MAX_SENDS",
    "PIN_MAX_ATTEMPTS",
    "TWOFA_APPLICATION_ID",
    "TWOFA_MESSAGE_ID",
];
pub const CALLBACK_VARIABLES: &[&str] = &["CALLBACK_SECRET_KEY"];
pub const POLL_VARIABLES: &[&str] = &[
    "PHONE_HASH_KEY",
    "DEMO_APP_ROUTES",
    "ASSERTION_ISSUER",
    "ASSERTION_AUDIENCE",
    "ASSERTION_TTL_SECONDS",
    "ASSERTION_KEY_ID",
    "ASSERTION_PUBLISHED_KEY_IDS",
    "WEB_PAGE",
    "FALLBACK_COUNTRIES",
    "FALLBACK_AFTER_SECONDS",
    "FALLBACK_ON_INVALID",
];

impl CommonConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Env(&lookup))
    }

    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let table_name = env.required("TABLE_NAME")?;
        let pending_timeout = env.seconds(
            "PENDING_TIMEOUT_SECONDS",
            DEFAULT_PENDING_TIMEOUT,
            10..=86_400,
        )?;
        let record_lifetime = env.seconds(
            "RECORD_TTL_SECONDS",
            DEFAULT_RECORD_LIFETIME,
            60..=2_592_000,
        )?;
        if record_lifetime < pending_timeout {
            return Err(ConfigError {
                name: "RECORD_TTL_SECONDS",
                problem: "must not be shorter than PENDING_TIMEOUT_SECONDS (a PENDING record would vanish instead of expiring)".into(),
            });
        }
        Ok(Self {
            table_name,
            lifetimes: Lifetimes {
                pending_timeout,
                record_lifetime,
            },
        })
    }
}

impl StartConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let common = CommonConfig::read(&env)?;
        let callback_base_url = env
            .optional("CALLBACK_BASE_URL")
            .map(|raw| parse_base_url("CALLBACK_BASE_URL", &raw))
            .transpose()?;
        let base = env
            .optional("INFOBIP_BASE_URL")
            .unwrap_or_else(|| DEFAULT_INFOBIP_BASE_URL.to_owned());
        let timeout = env.millis("INFOBIP_TIMEOUT_MS", DEFAULT_INFOBIP_TIMEOUT, 100..=60_000)?;
        let infobip = InfobipConfig {
            base_url: parse_base_url("INFOBIP_BASE_URL", &base)?,
            api_key: ApiKey::new(env.required("INFOBIP_API_KEY")?).ok_or(ConfigError {
                name: "INFOBIP_API_KEY",
                problem: "must be printable ASCII without spaces".into(),
            })?,
            connect_timeout: timeout.min(INFOBIP_CONNECT_TIMEOUT),
            timeout,
        };
        let phone_hash_key = phone_hash_key(&env)?;
        let fallback = FallbackPolicy {
            sim_swap_check_hours: env.number(
                "SIM_SWAP_CHECK_HOURS",
                DEFAULT_SIM_SWAP_CHECK_HOURS.into(),
                0..=2_400,
            )? as u32,
            on_unknown_swap: match env.optional("SIM_SWAP_ON_UNKNOWN").as_deref() {
                None | Some("deny") => OnUnknownSwap::Deny,
                Some("allow") => OnUnknownSwap::Allow,
                Some(_) => {
                    return Err(ConfigError {
                        name: "SIM_SWAP_ON_UNKNOWN",
                        problem: "must be allow or deny".into(),
                    })
                }
            },
            max_sends: env.number("PIN_MAX_SENDS", DEFAULT_PIN_MAX_SENDS.into(), 1..=10)? as u32,
            max_attempts: env.number("PIN_MAX_ATTEMPTS", DEFAULT_PIN_MAX_ATTEMPTS.into(), 1..=10)?
                as u32,
            ..fallback_policy(&env)?
        };
        // Read whether or not fallback is on, so that a role reads the same variables always.
        let ids = (
            env.optional("TWOFA_APPLICATION_ID"),
            env.optional("TWOFA_MESSAGE_ID"),
        );
        let twofa = match ids {
            (Some(application_id), Some(message_id)) => Some(TwoFactorIds {
                application_id,
                message_id,
            }),
            _ if fallback.is_on() => {
                return Err(ConfigError {
                    name: "TWOFA_APPLICATION_ID",
                    problem: "and TWOFA_MESSAGE_ID must be set when FALLBACK_COUNTRIES is (create them with `smv-local infobip-setup`)".into(),
                })
            }
            _ => None,
        };
        Ok(Self {
            common,
            fallback,
            twofa,
            phone_hash_key,
            callback_key: callback_key(&env)?,
            allowed_origins: origins(&env)?,
            demo_app_routes: env.flag("DEMO_APP_ROUTES")?,
            callback_base_url,
            address_policy: address_policy(&env)?,
            infobip,
            rate_limits: RateLimits {
                per_phone: limit(
                    &env,
                    (
                        "RATE_LIMIT_PER_PHONE",
                        "RATE_LIMIT_PER_PHONE_WINDOW_SECONDS",
                    ),
                    DEFAULT_PER_PHONE,
                )?,
                per_ip: limit(
                    &env,
                    ("RATE_LIMIT_PER_IP", "RATE_LIMIT_PER_IP_WINDOW_SECONDS"),
                    DEFAULT_PER_IP,
                )?,
                per_ipv6_48: limit(
                    &env,
                    (
                        "RATE_LIMIT_PER_IPV6_48",
                        "RATE_LIMIT_PER_IPV6_48_WINDOW_SECONDS",
                    ),
                    DEFAULT_PER_IPV6_48,
                )?,
                per_phone_and_ip: limit(
                    &env,
                    (
                        "RATE_LIMIT_PER_PHONE_AND_IP",
                        "RATE_LIMIT_PER_PHONE_AND_IP_WINDOW_SECONDS",
                    ),
                    DEFAULT_PER_PHONE_AND_IP,
                )?,
                global: limit(
                    &env,
                    ("RATE_LIMIT_GLOBAL", "RATE_LIMIT_GLOBAL_WINDOW_SECONDS"),
                    DEFAULT_GLOBAL,
                )?,
            },
        })
    }
}

impl CallbackConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        Ok(Self {
            common: CommonConfig::read(&env)?,
            callback_key: callback_key(&env)?,
        })
    }
}

impl PollConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let common = CommonConfig::read(&env)?;
        Ok(Self {
            common,
            phone_hash_key: phone_hash_key(&env)?,
            demo_app_routes: env.flag("DEMO_APP_ROUTES")?,
            web_page: env.optional("WEB_PAGE").is_none() || env.flag("WEB_PAGE")?,
            fallback: fallback_policy(&env)?,
            assertions: AssertionConfig {
                policy: Policy {
                    issuer: env.optional("ASSERTION_ISSUER"),
                    audience: env.required("ASSERTION_AUDIENCE")?,
                    lifetime: env.seconds(
                        "ASSERTION_TTL_SECONDS",
                        DEFAULT_ASSERTION_LIFETIME,
                        10..=600,
                    )?,
                },
                key_id: env.optional("ASSERTION_KEY_ID"),
                published_key_ids: env
                    .optional("ASSERTION_PUBLISHED_KEY_IDS")
                    .map(|ids| {
                        ids.split(',')
                            .map(str::trim)
                            .filter(|id| !id.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        })
    }
}

/// `CORS_ALLOWED_ORIGINS`: comma-separated origins, each a scheme, a host and maybe a port.
fn origins(env: &Env<'_>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = env.optional("CORS_ALLOWED_ORIGINS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let url = Url::parse(origin).ok().filter(|u| {
                matches!(u.scheme(), "https" | "http")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
            });
            match url {
                Some(_) => Ok(origin.to_owned()),
                None => Err(ConfigError {
                    name: "CORS_ALLOWED_ORIGINS",
                    problem: format!(
                        "must be origins like https://shop.example.com, comma-separated (got {origin:?})"
                    ),
                }),
            }
        })
        .collect()
}

fn phone_hash_key(env: &Env<'_>) -> Result<PhoneHashKey, ConfigError> {
    PhoneHashKey::new(env.required("PHONE_HASH_KEY")?.into_bytes()).map_err(|e| ConfigError {
        name: "PHONE_HASH_KEY",
        problem: e.to_string(),
    })
}

/// What every function that speaks of fallback reads: the countries, the deadline, INVALID.
fn fallback_policy(env: &Env<'_>) -> Result<FallbackPolicy, ConfigError> {
    let countries = env
        .optional("FALLBACK_COUNTRIES")
        .map(|raw| {
            raw.split(',')
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty())
                .map(|c| match c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                    true => Ok(c),
                    false => Err(ConfigError {
                        name: "FALLBACK_COUNTRIES",
                        problem: format!("must be ISO 3166 alpha-2 codes like GB,DE, comma-separated (got {c:?})"),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(FallbackPolicy {
        countries,
        after: env.seconds("FALLBACK_AFTER_SECONDS", DEFAULT_FALLBACK_AFTER, 10..=3_600)?,
        on_invalid: env.flag("FALLBACK_ON_INVALID")?,
        ..FallbackPolicy::off()
    })
}

fn callback_key(env: &Env<'_>) -> Result<CallbackKey, ConfigError> {
    CallbackKey::new(env.required("CALLBACK_SECRET_KEY")?.into_bytes()).map_err(|e| ConfigError {
        name: "CALLBACK_SECRET_KEY",
        problem: e.to_string(),
    })
}

/// `name` starts per `window_name` seconds; a count of 0 turns the limit off.
fn limit(
    env: &Env<'_>,
    (name, window_name): (&'static str, &'static str),
    default: Limit,
) -> Result<Option<Limit>, ConfigError> {
    let max = env.number(name, default.max, 0..=1_000_000)?;
    let window = env.seconds(window_name, default.window, 1..=86_400)?;
    Ok((max > 0).then_some(Limit { max, window }))
}

fn address_policy(env: &Env<'_>) -> Result<AddressPolicy, ConfigError> {
    let alb_trusted_hops = env.number("ALB_TRUSTED_PROXY_HOPS", 0, 0..=10)? as usize;
    let trust = env.flag("TRUST_CLOUDFRONT_VIEWER_ADDRESS")?;
    let header = env.optional("CLOUDFRONT_ORIGIN_SECRET_HEADER");
    let secret = env.optional("CLOUDFRONT_ORIGIN_SECRET");
    let refuse = |name, problem: &str| {
        Err(ConfigError {
            name,
            problem: problem.into(),
        })
    };
    // Each refused combination would start fine and then be unsafe: trust without a secret lets
    // anyone who reaches the API directly choose the device address; a secret without trust
    // would be silently ignored.
    let cloudfront = match (trust, header, secret) {
        (false, None, None) => None,
        (false, _, _) => {
            return refuse(
                "TRUST_CLOUDFRONT_VIEWER_ADDRESS",
                "must be true when an origin secret is set (or unset CLOUDFRONT_ORIGIN_SECRET_HEADER and CLOUDFRONT_ORIGIN_SECRET)",
            )
        }
        (true, None, _) => {
            return refuse(
                "CLOUDFRONT_ORIGIN_SECRET_HEADER",
                "must be set when TRUST_CLOUDFRONT_VIEWER_ADDRESS is true",
            )
        }
        (true, Some(_), None) => {
            return refuse(
                "CLOUDFRONT_ORIGIN_SECRET",
                "must be set when TRUST_CLOUDFRONT_VIEWER_ADDRESS is true",
            )
        }
        (true, Some(header), Some(secret)) => {
            if lambda_http::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return refuse("CLOUDFRONT_ORIGIN_SECRET_HEADER", "is not a valid header name");
            }
            Some(CloudFrontTrust {
                origin_secret: Some(OriginSecret {
                    header: header.to_ascii_lowercase(),
                    value: secret.into(),
                }),
            })
        }
    };
    Ok(AddressPolicy {
        alb_trusted_hops,
        cloudfront,
    })
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
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    };
    if url.scheme() == "http" && !loopback {
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

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn optional(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError {
            name,
            problem: "is not set".into(),
        })
    }

    fn number(
        &self,
        name: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        let Some(raw) = self.optional(name) else {
            return Ok(default);
        };
        match raw.parse::<u64>() {
            Ok(value) if range.contains(&value) => Ok(value),
            _ => Err(ConfigError {
                name,
                problem: format!(
                    "must be a whole number from {} to {} (got {raw:?})",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }

    fn seconds(
        &self,
        name: &'static str,
        default: Duration,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.number(name, default.as_secs(), range)
            .map(Duration::from_secs)
    }

    fn millis(
        &self,
        name: &'static str,
        default: Duration,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        self.number(name, default.as_millis() as u64, range)
            .map(Duration::from_millis)
    }

    fn flag(&self, name: &'static str) -> Result<bool, ConfigError> {
        match self
            .optional(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(_) => Err(ConfigError {
                name,
                problem: "must be true or false".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const HASH_KEY: &str = "0123456789abcdef0123456789abcdef";
    const CALLBACK_KEY: &str = "fedcba9876543210fedcba9876543210";
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    /// With a callback key unless `vars` names one.
    fn config(vars: &[(&str, &str)]) -> Result<StartConfig, ConfigError> {
        let given = lookup(vars);
        StartConfig::from_lookup(move |name| match name {
            "CALLBACK_SECRET_KEY" => given(name).or_else(|| Some(CALLBACK_KEY.to_owned())),
            _ => given(name),
        })
    }

    fn failing_name(vars: &[(&str, &str)]) -> &'static str {
        config(vars).unwrap_err().name
    }

    #[test]
    fn defaults_apply_when_only_the_required_settings_are_given() {
        let c = config(&[
            ("TABLE_NAME", "t"),
            ("INFOBIP_API_KEY", "k"),
            ("PHONE_HASH_KEY", HASH_KEY),
        ])
        .unwrap();
        assert_eq!(c.infobip.base_url.as_str(), "https://api.infobip.com/");
        assert_eq!(c.infobip.timeout, DEFAULT_INFOBIP_TIMEOUT);
        assert_eq!(c.common.lifetimes.pending_timeout, DEFAULT_PENDING_TIMEOUT);
        assert_eq!(c.common.lifetimes.record_lifetime, DEFAULT_RECORD_LIFETIME);
        assert_eq!(c.callback_base_url, None);
        assert_eq!(c.address_policy.alb_trusted_hops, 0);
        assert!(c.address_policy.cloudfront.is_none());
        assert_eq!(c.rate_limits, RateLimits::default());
    }

    #[test]
    fn a_rate_limit_of_zero_is_off() {
        let c = config(&[
            ("TABLE_NAME", "t"),
            ("INFOBIP_API_KEY", "k"),
            ("PHONE_HASH_KEY", HASH_KEY),
            ("RATE_LIMIT_PER_PHONE", "0"),
            ("RATE_LIMIT_PER_IP", "3"),
            ("RATE_LIMIT_PER_IP_WINDOW_SECONDS", "10"),
        ])
        .unwrap();
        assert_eq!(c.rate_limits.per_phone, None);
        assert_eq!(
            c.rate_limits.per_ip,
            Some(Limit {
                max: 3,
                window: Duration::from_secs(10)
            })
        );
    }

    #[test]
    fn functions_that_do_not_call_infobip_do_not_need_its_key() {
        let c = CommonConfig::from_lookup(lookup(&[("TABLE_NAME", "t")])).unwrap();
        assert_eq!(c.table_name, "t");
        assert_eq!(
            config(&[("TABLE_NAME", "t")]).unwrap_err().name,
            "INFOBIP_API_KEY"
        );
    }

    #[test]
    fn each_malformed_setting_is_named() {
        let base = [
            ("TABLE_NAME", "t"),
            ("INFOBIP_API_KEY", "k"),
            ("PHONE_HASH_KEY", HASH_KEY),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut vars = base.to_vec();
            vars.push(extra);
            failing_name(&vars)
        };
        assert_eq!(
            failing_name(&[("INFOBIP_API_KEY", "k"), ("PHONE_HASH_KEY", HASH_KEY)]),
            "TABLE_NAME"
        );
        assert_eq!(
            with(("INFOBIP_BASE_URL", "xyz.api.infobip.com")),
            "INFOBIP_BASE_URL"
        );
        assert_eq!(
            with(("INFOBIP_BASE_URL", "ftp://x.example")),
            "INFOBIP_BASE_URL"
        );
        assert_eq!(
            with(("INFOBIP_BASE_URL", "http://xyz.api.infobip.com")),
            "INFOBIP_BASE_URL"
        );
        assert_eq!(
            with(("CALLBACK_BASE_URL", "http://smv.example.com")),
            "CALLBACK_BASE_URL"
        );
        for loopback in [
            "http://127.0.0.1:9",
            "http://[::1]:9",
            "http://localhost:3000",
        ] {
            let mut vars = base.to_vec();
            vars.push(("INFOBIP_BASE_URL", loopback));
            vars.push(("CALLBACK_BASE_URL", loopback));
            assert!(config(&vars).is_ok(), "{loopback}");
        }
        assert_eq!(
            with(("CALLBACK_BASE_URL", "https://x.example/?a=b")),
            "CALLBACK_BASE_URL"
        );
        assert_eq!(
            with(("PENDING_TIMEOUT_SECONDS", "soon")),
            "PENDING_TIMEOUT_SECONDS"
        );
        assert_eq!(with(("INFOBIP_TIMEOUT_MS", "0")), "INFOBIP_TIMEOUT_MS");
        assert_eq!(with(("RATE_LIMIT_PER_IP", "many")), "RATE_LIMIT_PER_IP");
        assert_eq!(
            with(("RATE_LIMIT_PER_PHONE_WINDOW_SECONDS", "0")),
            "RATE_LIMIT_PER_PHONE_WINDOW_SECONDS"
        );
        assert_eq!(with(("RECORD_TTL_SECONDS", "120")), "RECORD_TTL_SECONDS");
        assert_eq!(
            with(("TRUST_CLOUDFRONT_VIEWER_ADDRESS", "yes")),
            "TRUST_CLOUDFRONT_VIEWER_ADDRESS"
        );
        assert_eq!(with(("DEMO_APP_ROUTES", "on")), "DEMO_APP_ROUTES");
        for origins in [
            "shop.example.com",
            "https://shop.example.com/",
            "https://a.example/path",
        ] {
            assert_eq!(
                with(("CORS_ALLOWED_ORIGINS", origins)),
                "CORS_ALLOWED_ORIGINS"
            );
        }
        assert_eq!(
            with(("ALB_TRUSTED_PROXY_HOPS", "-1")),
            "ALB_TRUSTED_PROXY_HOPS"
        );
        assert_eq!(
            config(&[("TABLE_NAME", "t"), ("INFOBIP_API_KEY", "two words")])
                .unwrap_err()
                .name,
            "INFOBIP_API_KEY"
        );
    }

    #[test]
    fn each_role_reads_exactly_its_declared_variables() {
        use std::cell::RefCell;
        for (role, expected) in [
            ("common", COMMON_VARIABLES.to_vec()),
            ("start", [COMMON_VARIABLES, STARTER_VARIABLES].concat()),
            ("callback", [COMMON_VARIABLES, CALLBACK_VARIABLES].concat()),
            ("poll", [COMMON_VARIABLES, POLL_VARIABLES].concat()),
        ] {
            let read_by = |lookup: &dyn Fn(&str) -> Option<String>| match role {
                "start" => StartConfig::from_lookup(lookup).map(drop),
                "callback" => CallbackConfig::from_lookup(lookup).map(drop),
                "poll" => PollConfig::from_lookup(lookup).map(drop),
                _ => CommonConfig::from_lookup(lookup).map(drop),
            };
            let read = RefCell::new(Vec::new());
            let lookup = |name: &str| {
                read.borrow_mut().push(name.to_owned());
                match name {
                    "TABLE_NAME" | "INFOBIP_API_KEY" | "ASSERTION_AUDIENCE" => Some("x".to_owned()),
                    "PHONE_HASH_KEY" => Some(HASH_KEY.to_owned()),
                    "CALLBACK_SECRET_KEY" => Some(CALLBACK_KEY.to_owned()),
                    "TRUST_CLOUDFRONT_VIEWER_ADDRESS" => Some("true".to_owned()),
                    "CLOUDFRONT_ORIGIN_SECRET_HEADER" => Some("x-origin-verify".to_owned()),
                    "CLOUDFRONT_ORIGIN_SECRET" => Some("s3cret".to_owned()),
                    _ => None,
                }
            };
            read_by(&lookup).unwrap();
            let mut read = read.into_inner();
            read.sort();
            read.dedup();
            let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
            expected.sort();
            assert_eq!(read, expected, "{role}");
        }
    }

    #[test]
    fn unsafe_cloudfront_combinations_are_refused() {
        let base = [
            ("TABLE_NAME", "t"),
            ("INFOBIP_API_KEY", "k"),
            ("PHONE_HASH_KEY", HASH_KEY),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut vars = base.to_vec();
            vars.extend_from_slice(extra);
            config(&vars).map(|c| c.address_policy)
        };
        let trust = ("TRUST_CLOUDFRONT_VIEWER_ADDRESS", "true");
        let header = ("CLOUDFRONT_ORIGIN_SECRET_HEADER", "X-Origin-Verify");
        let secret = ("CLOUDFRONT_ORIGIN_SECRET", "s3cret");
        assert_eq!(
            with(&[trust]).unwrap_err().name,
            "CLOUDFRONT_ORIGIN_SECRET_HEADER"
        );
        assert_eq!(
            with(&[header, secret]).unwrap_err().name,
            "TRUST_CLOUDFRONT_VIEWER_ADDRESS"
        );
        assert_eq!(
            with(&[secret]).unwrap_err().name,
            "TRUST_CLOUDFRONT_VIEWER_ADDRESS"
        );
        assert!(with(&[trust, header, secret]).unwrap().cloudfront.is_some());
        assert!(with(&[]).unwrap().cloudfront.is_none());
    }

    #[test]
    fn cloudfront_origin_secret_needs_both_header_and_value() {
        let vars = [
            ("TABLE_NAME", "t"),
            ("INFOBIP_API_KEY", "k"),
            ("PHONE_HASH_KEY", HASH_KEY),
            ("TRUST_CLOUDFRONT_VIEWER_ADDRESS", "true"),
            ("CLOUDFRONT_ORIGIN_SECRET_HEADER", "X-Origin-Verify"),
        ];
        assert_eq!(config(&vars).unwrap_err().name, "CLOUDFRONT_ORIGIN_SECRET");
        let mut vars = vars.to_vec();
        vars.push(("CLOUDFRONT_ORIGIN_SECRET", "s3cret"));
        let policy = config(&vars).unwrap().address_policy;
        let secret = policy.cloudfront.clone().unwrap().origin_secret.unwrap();
        assert_eq!(secret.header, "x-origin-verify");
        assert_eq!(secret.value.expose_secret(), "s3cret");
        assert!(!format!("{policy:?}").contains("s3cret"));
    }

    #[test]
    fn the_error_message_names_the_variable_but_not_the_key() {
        let err = config(&[("TABLE_NAME", "t"), ("INFOBIP_BASE_URL", "nope")]).unwrap_err();
        assert!(err.to_string().contains("INFOBIP_BASE_URL"));
        // A key that is refused is named, never echoed.
        let err = config(&[("TABLE_NAME", "t"), ("INFOBIP_API_KEY", "s3cret key-77")]).unwrap_err();
        assert!(err.to_string().contains("INFOBIP_API_KEY"), "{err}");
        assert!(
            !err.to_string().contains("s3cret") && !err.to_string().contains("key-77"),
            "{err}"
        );
        assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");
    }

    #[test]
    fn the_keys_are_required_long_and_never_echoed() {
        let base = [
            ("TABLE_NAME", "t"),
            ("INFOBIP_API_KEY", "k"),
            ("PHONE_HASH_KEY", HASH_KEY),
            ("CALLBACK_SECRET_KEY", CALLBACK_KEY),
        ];
        for name in ["PHONE_HASH_KEY", "CALLBACK_SECRET_KEY"] {
            let without: Vec<_> = base.iter().copied().filter(|(n, _)| *n != name).collect();
            let without = StartConfig::from_lookup(lookup(&without)).unwrap_err();
            assert_eq!(without.name, name);
            let short: Vec<_> = base
                .iter()
                .map(|&(n, v)| {
                    (
                        n,
                        if n == name {
                            "short-secret-31-bytes-long-xxxx"
                        } else {
                            v
                        },
                    )
                })
                .collect();
            let short = StartConfig::from_lookup(lookup(&short)).unwrap_err();
            assert_eq!(short.name, name);
            assert!(!short.to_string().contains("short-secret"), "{short}");
        }
        let c = StartConfig::from_lookup(lookup(&base)).unwrap();
        assert!(!format!("{:?}", c.phone_hash_key).contains("0123"));
        assert!(!format!("{:?}", c.callback_key).contains("fedc"));
    }
}
