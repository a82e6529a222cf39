//! Which proxies the start function trusts to say where a device is (`device_address`'s policy).

use super::setting::{Env, Kind, Setting, Template};
use super::{ConfigError, Function};
use crate::device_address::{AddressPolicy, CloudFrontTrust, OriginSecret};

const START: &[Function] = &[Function::Start];

pub const ALB_TRUSTED_PROXY_HOPS: Setting = Setting::new(
    "ALB_TRUSTED_PROXY_HOPS",
    Kind::Number {
        default: 0,
        min: 0,
        max: 10,
    },
    START,
    Template::Stack("'0': behind the stack's HTTP API the source IP comes from its context"),
);
pub const TRUST_CLOUDFRONT_VIEWER_ADDRESS: Setting = Setting::flag(
    "TRUST_CLOUDFRONT_VIEWER_ADDRESS",
    false,
    START,
    "TrustCloudFrontViewerAddress",
);
pub const CLOUDFRONT_ORIGIN_SECRET_HEADER: Setting = Setting::text(
    "CLOUDFRONT_ORIGIN_SECRET_HEADER",
    START,
    "CloudFrontOriginSecretHeader",
);
pub const CLOUDFRONT_ORIGIN_SECRET: Setting =
    Setting::text("CLOUDFRONT_ORIGIN_SECRET", START, "CloudFrontOriginSecret");

pub const SETTINGS: &[Setting] = &[
    ALB_TRUSTED_PROXY_HOPS,
    TRUST_CLOUDFRONT_VIEWER_ADDRESS,
    CLOUDFRONT_ORIGIN_SECRET_HEADER,
    CLOUDFRONT_ORIGIN_SECRET,
];

pub(super) fn address_policy(env: &Env<'_>) -> Result<AddressPolicy, ConfigError> {
    let alb_trusted_hops = env.number(&ALB_TRUSTED_PROXY_HOPS)? as usize;
    let trust = env.flag(&TRUST_CLOUDFRONT_VIEWER_ADDRESS)?;
    let header = env.text(&CLOUDFRONT_ORIGIN_SECRET_HEADER);
    let secret = env.text(&CLOUDFRONT_ORIGIN_SECRET);
    let refuse = |setting: &Setting, problem: &str| {
        Err(ConfigError {
            name: setting.name,
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
                &TRUST_CLOUDFRONT_VIEWER_ADDRESS,
                "must be true when an origin secret is set (or unset CLOUDFRONT_ORIGIN_SECRET_HEADER and CLOUDFRONT_ORIGIN_SECRET)",
            )
        }
        (true, None, _) => {
            return refuse(
                &CLOUDFRONT_ORIGIN_SECRET_HEADER,
                "must be set when TRUST_CLOUDFRONT_VIEWER_ADDRESS is true",
            )
        }
        (true, Some(_), None) => {
            return refuse(
                &CLOUDFRONT_ORIGIN_SECRET,
                "must be set when TRUST_CLOUDFRONT_VIEWER_ADDRESS is true",
            )
        }
        (true, Some(header), Some(secret)) => {
            if lambda_http::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return refuse(&CLOUDFRONT_ORIGIN_SECRET_HEADER, "is not a valid header name");
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
