//! The readers, as a deployment meets them: defaults, refusals that name the variable, keys
//! that are never echoed, and each function reading exactly its declared variables.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::*;
use crate::fallback::Channel;
use crate::rate_limit::{Limit, Scope};

const HASH_KEY: &str = "0123456789abcdef0123456789abcdef";
const CALLBACK_KEY: &str = "fedcba9876543210fedcba9876543210";
const RETURN_KEY: &str = "0f1e2d3c4b5a69780f1e2d3c4b5a6978";
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
        "RETURN_KEY" => given(name).or_else(|| Some(RETURN_KEY.to_owned())),
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
    assert_eq!(c.infobip.timeout, Duration::from_secs(6));
    assert_eq!(c.common.lifetimes.pending_timeout, Duration::from_secs(300));
    assert_eq!(
        c.common.lifetimes.record_lifetime,
        Duration::from_secs(3600)
    );
    assert_eq!(c.callback_base_url, None);
    assert_eq!(c.address_policy.alb_trusted_hops, 0);
    assert!(c.address_policy.cloudfront.is_none());
    let limit = |max, secs| {
        Some(Limit {
            max,
            window: Duration::from_secs(secs),
        })
    };
    assert_eq!(
        c.rate_limits,
        RateLimits::new([
            (Scope::PhoneAndDevice, limit(3, 900)),
            (Scope::DeviceIp, limit(60, 60)),
            (Scope::DeviceNetwork, limit(240, 60)),
            (Scope::PhoneNumber, limit(5, 900)),
            // One address's share: 10 % of the cap, so ten addresses to exhaust it.
            (Scope::AddressShare, limit(3600, 3600)),
            (Scope::Global, limit(36000, 3600)),
        ])
    );
    assert_eq!(
        c.pin_send_limits,
        c.rate_limits.and(&RateLimits::new([
            (Scope::PinsPerPhone, limit(5, 86_400)),
            (Scope::PinsAddressShare, limit(100, 86_400)),
            (Scope::PinBudget, limit(1000, 86_400)),
        ]))
    );
    assert_eq!(c.fallback.offer.channels, Channel::ALL);
}

#[test]
fn the_method_is_smv_everywhere_unless_configured() {
    let base = [
        ("TABLE_NAME", "t"),
        ("INFOBIP_API_KEY", "k"),
        ("PHONE_HASH_KEY", HASH_KEY),
    ];
    let gb = crate::phone::PhoneNumber::parse("+447911000001").unwrap();
    let defaults = config(&base).unwrap().methods;
    assert_eq!(
        defaults.policy.method_for(&gb),
        crate::method_policy::VerifyMethod::Smv
    );
    assert!(!defaults.policy.allows_sim(&gb));
    let mut vars = base.to_vec();
    vars.extend([
        ("VERIFY_METHODS", "GB:camara,*:smv"),
        ("VERIFY_SIM_COUNTRIES", "GB"),
        ("CAMARA_CLIENT_ID", "acme"),
    ]);
    let camara = config(&vars).unwrap().methods;
    assert_eq!(
        camara.policy.method_for(&gb),
        crate::method_policy::VerifyMethod::Camara
    );
    assert!(camara.policy.allows_sim(&gb));
    assert_eq!(camara.camara_client_id.as_deref(), Some("acme"));
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
    assert_eq!(c.rate_limits.get(Scope::PhoneNumber), None);
    assert_eq!(
        c.rate_limits.get(Scope::DeviceIp),
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
    // Neither the key nor its secret: the secret is what a deployment names.
    assert_eq!(
        config(&[("TABLE_NAME", "t")]).unwrap_err().name,
        "INFOBIP_API_KEY_SECRET_ARN"
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
    assert_eq!(
        with(("SIM_NUMBER_TYPES", "MOBILE,SATELLITE")),
        "SIM_NUMBER_TYPES"
    );
    assert_eq!(with(("SIM_NUMBER_TYPES", " , ")), "SIM_NUMBER_TYPES");
    assert_eq!(with(("VERIFY_METHODS", "GB:sms")), "VERIFY_METHODS");
    assert_eq!(
        with(("VERIFY_SIM_COUNTRIES", "GBR")),
        "VERIFY_SIM_COUNTRIES"
    );
    // CAMARA's authorize endpoint needs the account's client id.
    assert_eq!(with(("VERIFY_METHODS", "GB:camara")), "CAMARA_CLIENT_ID");
    assert_eq!(with(("CAMARA_CLIENT_ID", "two words")), "CAMARA_CLIENT_ID");
    for origins in [
        "shop.example.com",
        "https://shop.example.com/",
        "https://a.example/path",
        // A page in clear can be rewritten on the way: https only, but for a developer's loopback.
        "http://shop.example.com",
        "https://shop.example.com,http://shop.example.com",
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
    let every = |f| variables_read_by(f).collect::<Vec<_>>();
    let common: Vec<&str> = all_settings()
        .filter(|s| s.read_by.len() == Function::ALL.len())
        .map(|s| s.name)
        .collect();
    for (role, expected) in [
        ("common", common),
        ("start", every(Function::Start)),
        ("callback", every(Function::Callback)),
        ("poll", every(Function::Poll)),
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
                "RETURN_KEY" => Some(RETURN_KEY.to_owned()),
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
        ("RETURN_KEY", RETURN_KEY),
    ];
    for name in ["PHONE_HASH_KEY", "CALLBACK_SECRET_KEY", "RETURN_KEY"] {
        let without: Vec<_> = base.iter().copied().filter(|(n, _)| *n != name).collect();
        let without = StartConfig::from_lookup(lookup(&without)).unwrap_err();
        assert_eq!(
            without.name,
            format!("{name}_SECRET_ARN"),
            "the secret is asked for"
        );
        // Both the key and its secret: one of them is a mistake.
        let mut both = base.to_vec();
        both.push((
            Box::leak(format!("{name}_SECRET_ARN").into_boxed_str()),
            "arn:x",
        ));
        assert_eq!(
            StartConfig::from_lookup(lookup(&both)).unwrap_err().name,
            name
        );
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
    assert!(!format!("{:?}", c.return_key).contains("0f1e"));
}

#[test]
fn cors_origins_are_https_but_for_a_developers_loopback() {
    let origins = "https://shop.example.com,http://localhost:8080,http://127.0.0.1:5173";
    let c = config(&[
        ("TABLE_NAME", "t"),
        ("INFOBIP_API_KEY", "k"),
        ("PHONE_HASH_KEY", HASH_KEY),
        ("CORS_ALLOWED_ORIGINS", origins),
    ])
    .unwrap();
    assert_eq!(c.allowed_origins.join(","), origins);
}
