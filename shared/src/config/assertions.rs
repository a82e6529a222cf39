//! The poll function's signed assertions: who they are for, how long they live, which KMS keys
//! sign and are published.

use super::setting::{Env, Kind, Setting, Template};
use super::{ConfigError, Function};
use crate::assertion::Policy;

const POLL: &[Function] = &[Function::Poll];

/// `iss`; unset: the public base URL the request came to.
pub const ASSERTION_ISSUER: Setting = Setting::text("ASSERTION_ISSUER", POLL, "AssertionIssuer");
pub const ASSERTION_AUDIENCE: Setting = Setting::required(
    "ASSERTION_AUDIENCE",
    POLL,
    Template::Parameter("AssertionAudience"),
);
/// RFC 8725 and OIDC practice: a few minutes is enough to carry an assertion to the relying
/// party, and little for anyone who intercepts it.
pub const ASSERTION_TTL_SECONDS: Setting = Setting::number(
    "ASSERTION_TTL_SECONDS",
    300,
    10..=600,
    POLL,
    "AssertionTtlSeconds",
);
/// A VALID result is the carrier's word at that moment: it is signed within this, or never.
pub const ASSERTION_REDEEM_SECONDS: Setting = Setting::number(
    "ASSERTION_REDEEM_SECONDS",
    600,
    10..=3_600,
    POLL,
    "AssertionRedeemSeconds",
);
/// The KMS key (its ARN) that signs; the Lambda function requires it, `smv-local` may sign with a
/// key of its own instead.
pub const ASSERTION_KEY_ID: Setting = Setting::new(
    "ASSERTION_KEY_ID",
    Kind::Text { default: None },
    POLL,
    Template::Stack("the stack's own KMS key"),
);
/// Keys published in the JWKS beside the signing key, for a rotation.
pub const ASSERTION_PUBLISHED_KEY_IDS: Setting = Setting::text(
    "ASSERTION_PUBLISHED_KEY_IDS",
    POLL,
    "AssertionPublishedKeyIds",
);

pub const SETTINGS: &[Setting] = &[
    ASSERTION_ISSUER,
    ASSERTION_AUDIENCE,
    ASSERTION_TTL_SECONDS,
    ASSERTION_REDEEM_SECONDS,
    ASSERTION_KEY_ID,
    ASSERTION_PUBLISHED_KEY_IDS,
];

#[derive(Debug, Clone)]
pub struct AssertionConfig {
    pub policy: Policy,
    /// How long after its result a VALID verification may be redeemed.
    pub redeem_window: std::time::Duration,
    pub key_id: Option<String>,
    pub published_key_ids: Vec<String>,
}

impl AssertionConfig {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            policy: Policy {
                issuer: env.text(&ASSERTION_ISSUER),
                audience: env.required(&ASSERTION_AUDIENCE)?,
                lifetime: env.seconds(&ASSERTION_TTL_SECONDS)?,
            },
            redeem_window: env.seconds(&ASSERTION_REDEEM_SECONDS)?,
            key_id: env.text(&ASSERTION_KEY_ID),
            published_key_ids: env.list(&ASSERTION_PUBLISHED_KEY_IDS),
        })
    }

    /// The signing key, which a Lambda function must have.
    pub fn required_key_id(&self) -> Result<String, ConfigError> {
        self.key_id.clone().ok_or(ConfigError {
            name: ASSERTION_KEY_ID.name,
            problem: "is not set (the ARN of the KMS key that signs assertions)".into(),
        })
    }
}
