//! The signed assertion a relying party can check with any JWT library: a compact JWS, ES256,
//! `typ` `smv+jwt`, carrying the verified number (see `trusted-result` in the README).
//!
//! - [`jwk`]: public keys as JWKs, with their RFC 7638 thumbprints as `kid`s.
//! - [`der`]: ECDSA signatures from DER (KMS) to the JWS form, R‖S.
//! - [`local`], [`kms`]: the two signers: a P-256 key in the process (`smv-local`), or AWS KMS.

pub mod der;
pub mod jwk;
pub mod kms;
pub mod local;

use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::binding::Nonce;
use crate::fallback::Method;
use crate::phone::PhoneNumber;
use crate::time::Timestamp;
pub use jwk::Jwk;

/// The JWS `typ` of our assertions (RFC 8725 §3.11: explicit typing).
pub const TYP: &str = "smv+jwt";
/// RFC 8176 registers no `amr` value for network-based silent verification; this one is ours.
pub const AMR: &str = "smv";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the signing key could not be used")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// KMS refused for its request quota (`ThrottlingException`): worth a retry, and a metric.
    #[error("the signing service throttled the signature")]
    Throttled(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the signing key is not an ES256 key: {0}")]
    WrongKey(String),
}

/// Something that holds an ES256 key and signs with it.
#[async_trait]
pub trait Signer: Send + Sync {
    /// Every key relying parties should accept, the signing key first (a rotation publishes the
    /// next key before it signs, and the last one until tokens signed with it have expired).
    async fn keys(&self) -> Result<Vec<Jwk>, SignError>;

    /// The key [`Self::sign`] signs with: all an assertion needs, whatever the others' state.
    async fn signing_key(&self) -> Result<Jwk, SignError>;

    /// R‖S, 64 bytes, of SHA-256 over `input` with the signing key.
    async fn sign(&self, input: &[u8]) -> Result<[u8; 64], SignError>;
}

/// What every assertion of a deployment says besides the number: configured once
/// (`ASSERTION_ISSUER`, `ASSERTION_AUDIENCE`, `ASSERTION_TTL_SECONDS`).
#[derive(Debug, Clone)]
pub struct Policy {
    /// `iss`; `None`: the public base URL the request came to.
    pub issuer: Option<String>,
    /// `aud`: the relying party the assertions are for.
    pub audience: String,
    pub lifetime: Duration,
}

/// What an assertion says, before it is signed.
pub struct Claims<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub phone: &'a PhoneNumber,
    pub nonce: Option<&'a Nonce>,
    pub issued_at: Timestamp,
    pub lifetime: Duration,
    /// How the number was verified: `amr` is `smv`, or RFC 8176's `sms` or `tel` after a PIN, so
    /// that a relying party can demand silent verification.
    pub method: Method,
    /// When the carrier, or the PIN check, said the number was this device's (OIDC `auth_time`).
    pub auth_time: Timestamp,
    /// When the SIM-swap check that cleared the number ran; `None` only where no check could run
    /// and `SIM_SWAP_ON_UNKNOWN` let it pass, or the check is off, so a relying party can require it.
    pub sim_swap_checked_at: Option<Timestamp>,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

/// A compact JWS of `body`, ES256 with `signer`'s current key, `typ` as given: one signature.
pub async fn sign_jws(
    signer: &dyn Signer,
    typ: &'static str,
    body: &impl Serialize,
) -> Result<String, SignError> {
    let key = signer.signing_key().await?;
    let header = Header {
        alg: "ES256",
        typ,
        kid: key.kid(),
    };
    let signing_input = format!("{}.{}", encode_part(&header), encode_part(body));
    let signature = signer.sign(signing_input.as_bytes()).await?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// 128 random bits, base64url: a `jti`.
pub fn random_id() -> Result<String, SignError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| SignError::Unavailable(e.to_string().into()))?;
    Ok(URL_SAFE_NO_PAD.encode(id))
}

#[derive(Serialize)]
struct Body<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    phone_number: &'a str,
    phone_number_verified: bool,
    iat: u64,
    exp: u64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: [&'static str; 1],
    auth_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sim_swap_checked_at: Option<u64>,
}

/// A signed assertion and when it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub jws: String,
    pub expires_at: Timestamp,
}

/// Signs `claims` with `signer`'s current key. `jti` is 128 random bits, never the Infobip
/// token (a bearer value).
pub async fn issue(signer: &dyn Signer, claims: &Claims<'_>) -> Result<Assertion, SignError> {
    let jti = random_id()?;
    let e164 = claims.phone.e164();
    let issued = claims.issued_at.as_millis() / 1000;
    let expires_at = Timestamp::from_millis((issued + claims.lifetime.as_secs()) * 1000);
    let body = Body {
        iss: claims.issuer,
        aud: claims.audience,
        sub: &e164,
        phone_number: &e164,
        phone_number_verified: true,
        iat: issued,
        exp: expires_at.as_millis() / 1000,
        jti: &jti,
        nonce: claims.nonce.map(Nonce::as_str),
        amr: [claims.method.amr()],
        auth_time: claims.auth_time.as_millis() / 1000,
        sim_swap_checked_at: claims.sim_swap_checked_at.map(|at| at.as_millis() / 1000),
    };
    Ok(Assertion {
        jws: sign_jws(signer, TYP, &body).await?,
        expires_at,
    })
}

/// A JWS part: base64url of the JSON.
fn encode_part(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(value).expect("plain structs of strings and numbers serialize"))
}
