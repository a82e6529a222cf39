//! The device's way back from the carrier step. Every start gives Infobip a return URL carrying
//! a [`ReturnSecret`]; the device that completed the carrier step arrives there and is shown a
//! one-time [`DeviceCode`], which the redeem step requires. A link relayed to a victim's phone
//! hands the code to the victim, never to the attacker who started the verification.
//!
//! CAMARA's network-based flow returns to one static URL, so the secret travels in its `state`
//! instead, beside the token ([`CamaraState`]); the device that comes back is shown its code the
//! same way.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::keys::FromSecret;
use crate::server_key::{KeyTooShort, ServerKey};
use crate::token::{RandomnessUnavailable, SecretHash, Token, UrlSecret};

const RETURN_LABEL: &str = "smv return url";
const DEVICE_CODE_LABEL: &str = "smv device code";
/// 128 random bits and a 128-bit tag under the server key: a return URL we never issued is
/// recognised without a storage call, so a flood of made-up return URLs writes nothing.
pub struct ReturnSecret(UrlSecret);

/// The code a device is shown on return: derived from the return secret's hash under the server
/// key, so that the redeem step recomputes it from what the verification stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode(String);

/// The key that tags return secrets and derives device codes (`RETURN_KEY`): its own, so that
/// rotating it touches nothing else. Its `Debug` is redacted.
#[derive(Debug, Clone)]
pub struct ReturnKey(ServerKey);

impl ReturnKey {
    pub fn new(key: Vec<u8>) -> Result<Self, KeyTooShort> {
        ServerKey::new(key).map(Self)
    }
}

impl FromSecret for ReturnKey {
    fn from_secret(raw: &str) -> Result<Self, String> {
        Self::new(raw.as_bytes().to_vec()).map_err(|e| e.to_string())
    }
}

impl ReturnSecret {
    pub fn generate(key: &ReturnKey) -> Result<Self, RandomnessUnavailable> {
        key.0.issue_secret(RETURN_LABEL).map(Self)
    }

    /// Whether `secret` is one we issued under `key`.
    pub fn issued_under(secret: &UrlSecret, key: &ReturnKey) -> bool {
        key.0.issued(secret, RETURN_LABEL)
    }

    /// A secret [`Self::issued_under`] one of our keys said we issued.
    pub fn trusted(secret: UrlSecret) -> Self {
        Self(secret)
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    pub fn hash(&self) -> SecretHash {
        self.0.hash()
    }
}

/// CAMARA's `state`: `<token>.<return secret>`. The operator hands it back with the `code`; the
/// secret's tag tells ours from a made-up one before any storage call, and its hash is what the
/// verification waits for.
pub struct CamaraState {
    pub token: Token,
    pub secret: UrlSecret,
}

impl CamaraState {
    pub fn encode(token: &Token, secret: &ReturnSecret) -> String {
        format!("{}.{}", token.as_str(), secret.expose())
    }

    /// The parts of a well-formed state (whether we issued it is the caller's check).
    pub fn parse(raw: &str) -> Option<Self> {
        let (token, secret) = raw.split_once('.')?;
        Some(Self {
            token: Token::parse(token).ok()?,
            secret: UrlSecret::parse(secret).ok()?,
        })
    }
}

impl DeviceCode {
    pub fn for_return(return_hash: &SecretHash, key: &ReturnKey) -> Self {
        let mac = key
            .0
            .labelled(DEVICE_CODE_LABEL, return_hash.as_str().as_bytes());
        Self(URL_SAFE_NO_PAD.encode(&mac[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// In constant time.
    pub fn matches(&self, given: &str) -> bool {
        self.0.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> ReturnKey {
        ReturnKey::new(vec![byte; 32]).unwrap()
    }

    #[test]
    fn only_return_secrets_we_issued_verify() {
        let secret = ReturnSecret::generate(&key(1)).unwrap();
        let again = UrlSecret::parse(secret.expose()).unwrap();
        assert!(ReturnSecret::issued_under(&again, &key(1)));
        assert!(!ReturnSecret::issued_under(&again, &key(2)));
        let made_up = UrlSecret::generate().unwrap();
        assert!(!ReturnSecret::issued_under(&made_up, &key(1)));
    }

    #[test]
    fn a_camara_state_carries_its_token_and_secret_back() {
        let token = Token::parse("123e4567-e89b-12d3-a456-426655440000").unwrap();
        let secret = ReturnSecret::generate(&key(1)).unwrap();
        let state = CamaraState::parse(&CamaraState::encode(&token, &secret)).unwrap();
        assert_eq!(state.token, token);
        assert!(ReturnSecret::issued_under(&state.secret, &key(1)));
        assert_eq!(state.secret.hash(), secret.hash());
        for made_up in [
            "",
            ".",
            "x.y",
            &token.to_string(),
            &format!("{token}.short"),
        ] {
            assert!(CamaraState::parse(made_up).is_none(), "{made_up:?}");
        }
    }

    #[test]
    fn a_device_code_belongs_to_one_return_secret() {
        let a = ReturnSecret::generate(&key(1)).unwrap();
        let b = ReturnSecret::generate(&key(1)).unwrap();
        let code = DeviceCode::for_return(&a.hash(), &key(1));
        assert_eq!(code, DeviceCode::for_return(&a.hash(), &key(1)));
        assert_ne!(code, DeviceCode::for_return(&b.hash(), &key(1)));
        assert_ne!(code, DeviceCode::for_return(&a.hash(), &key(2)));
        assert_eq!(code.as_str().len(), 22);
        assert!(code.matches(code.as_str()) && !code.matches("nope"));
    }
}
