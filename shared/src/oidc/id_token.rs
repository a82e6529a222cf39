//! The ID token (OpenID Connect Core §2): ES256 by the assertion key, `typ` `JWT` (relying-party
//! libraries refuse types they do not know), `sub` pairwise, the number only with scope `phone`.

use serde::Serialize;

use crate::assertion::{self, SignError, Signer};
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

/// An ID token lives as long as the relying party needs to read it once.
pub const ID_TOKEN_LIFETIME_SECS: u64 = 300;

pub struct IdTokenClaims<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub subject: &'a str,
    pub issued_at: Timestamp,
    pub auth_time: Timestamp,
    pub nonce: Option<&'a str>,
    pub amr: &'static str,
    pub acr: &'a str,
    /// With scope `phone`.
    pub phone: Option<&'a PhoneNumber>,
    pub sim_swap_checked_at: Option<Timestamp>,
}

#[derive(Serialize)]
struct Body<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: u64,
    exp: u64,
    auth_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: [&'static str; 1],
    acr: &'a str,
    jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sim_swap_checked_at: Option<u64>,
}

/// One KMS `Sign`.
pub async fn issue(signer: &dyn Signer, claims: &IdTokenClaims<'_>) -> Result<String, SignError> {
    let iat = claims.issued_at.as_millis() / 1000;
    let body = Body {
        iss: claims.issuer,
        aud: claims.client_id,
        sub: claims.subject,
        iat,
        exp: iat + ID_TOKEN_LIFETIME_SECS,
        auth_time: claims.auth_time.as_millis() / 1000,
        nonce: claims.nonce,
        amr: [claims.amr],
        acr: claims.acr,
        jti: assertion::random_id()?,
        phone_number: claims.phone.map(PhoneNumber::e164),
        phone_number_verified: claims.phone.map(|_| true),
        sim_swap_checked_at: claims.sim_swap_checked_at.map(|at| at.as_millis() / 1000),
    };
    assertion::sign_jws(signer, "JWT", &body).await
}
