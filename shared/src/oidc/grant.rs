//! What a verification becomes when it signs a user in through the OpenID Provider: a grant,
//! kept on the verification's own record so that issuing the code, exchanging it and revoking it
//! are each one conditional write of one item. The authorization code and the access token are
//! `<verification token>.<256-bit secret>`: the token finds the record, the secret (stored only
//! as its hash) proves the bearer.

use serde::{Deserialize, Serialize};

use crate::binding::{CodeChallenge, CodeVerifier, Nonce};
use crate::sealed_phone::SealedPhone;
use crate::time::Timestamp;
use crate::token::{RandomnessUnavailable, SecretHash, Token, UrlSecret};

/// RFC 9700 §4.1: codes are short lived. The relying party exchanges it within seconds.
pub const CODE_LIFETIME_SECS: u64 = 60;
/// The access token serves UserInfo right after the exchange (Cognito calls it at once).
pub const ACCESS_TOKEN_LIFETIME_SECS: u64 = 300;

/// `<token>.<secret>`: a code or an access token as the bearer holds it.
pub struct BearerValue {
    pub token: Token,
    pub secret: UrlSecret,
}

impl BearerValue {
    pub fn generate(token: &Token) -> Result<Self, RandomnessUnavailable> {
        Ok(Self {
            token: token.clone(),
            secret: UrlSecret::generate()?,
        })
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (token, secret) = raw.split_once('.')?;
        Some(Self {
            token: Token::parse(token).ok()?,
            secret: UrlSecret::parse(secret).ok()?,
        })
    }

    pub fn expose(&self) -> String {
        format!("{}.{}", self.token.as_str(), self.secret.expose())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantState {
    /// The code is out, not yet exchanged.
    Issued,
    /// The code was exchanged once; the access token is this hash's until `until`.
    Exchanged {
        access_hash: SecretHash,
        until: Timestamp,
    },
    /// The code was presented a second time: what it issued no longer works (RFC 6749 §4.1.2).
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    pub redirect_uri: String,
    /// The relying party's PKCE challenge, checked at the exchange.
    pub code_challenge: CodeChallenge,
    pub nonce: Option<Nonce>,
    pub scopes: Vec<String>,
    /// Pairwise, for the client's sector.
    pub subject: String,
    pub acr: String,
    /// With scope `phone` only: the number for the ID token and UserInfo, sealed to the token.
    pub sealed_phone: Option<SealedPhone>,
    pub sim_swap_checked_at: Option<Timestamp>,
    pub code_hash: SecretHash,
    pub code_until: Timestamp,
    pub state: GrantState,
}

/// Why an exchange is refused (`invalid_grant` for all: the client learns nothing more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unexchangeable {
    /// The code was already exchanged (or revoked): revoke what it issued.
    Reused,
    /// Another client's code, another redirect URI, a wrong verifier, a wrong secret, expired.
    Refused,
}

impl Grant {
    /// Whether `code` may be exchanged by `client_id` for `redirect_uri` with `verifier`, now.
    /// Every part is checked whatever the others gave.
    pub fn exchangeable(
        &self,
        code: &UrlSecret,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: &CodeVerifier,
        now: Timestamp,
    ) -> Result<(), Unexchangeable> {
        let code_ok = code.hash() == self.code_hash;
        if !code_ok {
            return Err(Unexchangeable::Refused);
        }
        if self.state != GrantState::Issued {
            return Err(Unexchangeable::Reused);
        }
        let bound = self.client_id == client_id
            && redirect_uri == Some(self.redirect_uri.as_str())
            && self.code_challenge.is_met_by(verifier)
            && now < self.code_until;
        match bound {
            true => Ok(()),
            false => Err(Unexchangeable::Refused),
        }
    }

    /// Whether `secret` is the live access token's.
    pub fn serves(&self, secret: &UrlSecret, now: Timestamp) -> bool {
        match &self.state {
            GrantState::Exchanged { access_hash, until } => {
                secret.hash() == *access_hash && now < *until
            }
            _ => false,
        }
    }

    pub fn wants(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// As stored: one JSON attribute of the verification's record.
    pub fn to_stored(&self) -> String {
        let (state, access_hash, access_until) = match &self.state {
            GrantState::Issued => ("issued", None, None),
            GrantState::Exchanged { access_hash, until } => (
                "exchanged",
                Some(access_hash.as_str().to_owned()),
                Some(until.as_millis()),
            ),
            GrantState::Revoked => ("revoked", None, None),
        };
        serde_json::to_string(&Stored {
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            code_challenge: self.code_challenge.as_str().to_owned(),
            nonce: self.nonce.as_ref().map(|n| n.as_str().to_owned()),
            scopes: self.scopes.clone(),
            subject: self.subject.clone(),
            acr: self.acr.clone(),
            sealed_phone: self.sealed_phone.as_ref().map(|p| p.as_str().to_owned()),
            sim_swap_checked_at: self.sim_swap_checked_at.map(Timestamp::as_millis),
            code_hash: self.code_hash.as_str().to_owned(),
            code_until: self.code_until.as_millis(),
            state: state.into(),
            access_hash,
            access_until,
        })
        .expect("strings and numbers serialize")
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        let s: Stored = serde_json::from_str(raw).ok()?;
        let state = match (s.state.as_str(), s.access_hash, s.access_until) {
            ("issued", None, None) => GrantState::Issued,
            ("exchanged", Some(hash), Some(until)) => GrantState::Exchanged {
                access_hash: SecretHash::from_stored(hash)?,
                until: Timestamp::from_millis(until),
            },
            ("revoked", None, None) => GrantState::Revoked,
            _ => return None,
        };
        Some(Self {
            client_id: s.client_id,
            redirect_uri: s.redirect_uri,
            code_challenge: CodeChallenge::from_stored(&s.code_challenge)?,
            nonce: s.nonce.map(|n| Nonce::parse(&n)).transpose().ok()?,
            scopes: s.scopes,
            subject: s.subject,
            acr: s.acr,
            sealed_phone: match s.sealed_phone {
                Some(p) => Some(SealedPhone::from_stored(&p)?),
                None => None,
            },
            sim_swap_checked_at: s.sim_swap_checked_at.map(Timestamp::from_millis),
            code_hash: SecretHash::from_stored(s.code_hash)?,
            code_until: Timestamp::from_millis(s.code_until),
            state,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    scopes: Vec<String>,
    subject: String,
    acr: String,
    sealed_phone: Option<String>,
    sim_swap_checked_at: Option<u64>,
    code_hash: String,
    code_until: u64,
    state: String,
    access_hash: Option<String>,
    access_until: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::rfc7636_example::{CHALLENGE, VERIFIER};

    fn grant(code: &UrlSecret) -> Grant {
        Grant {
            client_id: "shop".into(),
            redirect_uri: "https://shop.example/cb".into(),
            code_challenge: CodeChallenge::parse(CHALLENGE, Some("S256")).unwrap(),
            nonce: Some(Nonce::parse("n-1").unwrap()),
            scopes: vec!["openid".into(), "phone".into()],
            subject: "sub".into(),
            acr: "urn:smv:acr:silent".into(),
            sealed_phone: None,
            sim_swap_checked_at: Some(Timestamp::from_millis(5_000)),
            code_hash: code.hash(),
            code_until: Timestamp::from_millis(60_000),
            state: GrantState::Issued,
        }
    }

    #[test]
    fn a_code_is_exchanged_only_by_its_client_uri_verifier_and_in_time() {
        let code = UrlSecret::generate().unwrap();
        let g = grant(&code);
        let verifier = CodeVerifier::parse(VERIFIER).unwrap();
        let wrong = CodeVerifier::parse(&"a".repeat(43)).unwrap();
        let at = Timestamp::from_millis(1_000);
        let uri = Some("https://shop.example/cb");
        assert_eq!(g.exchangeable(&code, "shop", uri, &verifier, at), Ok(()));
        let refused = Err(Unexchangeable::Refused);
        assert_eq!(g.exchangeable(&code, "other", uri, &verifier, at), refused);
        assert_eq!(
            g.exchangeable(
                &code,
                "shop",
                Some("https://shop.example/cb/"),
                &verifier,
                at
            ),
            refused
        );
        assert_eq!(g.exchangeable(&code, "shop", None, &verifier, at), refused);
        assert_eq!(g.exchangeable(&code, "shop", uri, &wrong, at), refused);
        assert_eq!(
            g.exchangeable(
                &code,
                "shop",
                uri,
                &verifier,
                Timestamp::from_millis(60_000)
            ),
            refused
        );
        assert_eq!(
            g.exchangeable(&UrlSecret::generate().unwrap(), "shop", uri, &verifier, at),
            refused
        );
        let used = Grant {
            state: GrantState::Revoked,
            ..g
        };
        assert_eq!(
            used.exchangeable(&code, "shop", uri, &verifier, at),
            Err(Unexchangeable::Reused)
        );
    }

    #[test]
    fn grants_round_trip_as_stored_in_every_state() {
        let code = UrlSecret::generate().unwrap();
        let access = UrlSecret::generate().unwrap();
        for state in [
            GrantState::Issued,
            GrantState::Exchanged {
                access_hash: access.hash(),
                until: Timestamp::from_millis(9),
            },
            GrantState::Revoked,
        ] {
            let g = Grant {
                state,
                ..grant(&code)
            };
            assert_eq!(Grant::from_stored(&g.to_stored()), Some(g));
        }
        assert_eq!(Grant::from_stored("{}"), None);
        let exchanged = Grant {
            state: GrantState::Exchanged {
                access_hash: access.hash(),
                until: Timestamp::from_millis(9),
            },
            ..grant(&code)
        };
        assert!(exchanged.serves(&access, Timestamp::from_millis(8)));
        assert!(!exchanged.serves(&access, Timestamp::from_millis(9)));
        assert!(!exchanged.serves(&code, Timestamp::from_millis(8)));
    }

    #[test]
    fn bearer_values_name_their_verification() {
        let token = Token::parse("3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f").unwrap();
        let code = BearerValue::generate(&token).unwrap();
        let parsed = BearerValue::parse(&code.expose()).unwrap();
        assert_eq!(parsed.token, token);
        assert_eq!(parsed.secret.hash(), code.secret.hash());
        for odd in [
            "",
            "x.y",
            "3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f",
            "3f1c2b9e-8a7d-4c6b-9e5f-1a2b3c4d5e6f.short",
        ] {
            assert!(BearerValue::parse(odd).is_none(), "{odd}");
        }
    }
}
