//! The device's way back from the carrier step. Every start gives Infobip a return URL carrying
//! a [`ReturnSecret`]; the device that completed the carrier step arrives there and is shown a
//! one-time [`DeviceCode`], which the redeem step requires. A link relayed to a victim's phone
//! hands the code to the victim, never to the attacker who started the verification.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::phone_hash::PhoneHashKey;
use crate::token::{RandomnessUnavailable, SecretHash, UrlSecret};

const RETURN_LABEL: &str = "smv return url";
const DEVICE_CODE_LABEL: &str = "smv device code";
/// 128 random bits and a 128-bit tag under the server key: a return URL we never issued is
/// recognised without a storage call, so a flood of made-up return URLs writes nothing.
pub struct ReturnSecret(UrlSecret);

/// The code a device is shown on return: derived from the return secret's hash under the server
/// key, so that the redeem step recomputes it from what the verification stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode(String);

impl ReturnSecret {
    pub fn generate(key: &PhoneHashKey) -> Result<Self, RandomnessUnavailable> {
        key.server_key().issue_secret(RETURN_LABEL).map(Self)
    }

    /// `None` unless `secret` is one we issued under `key`.
    pub fn verify(secret: UrlSecret, key: &PhoneHashKey) -> Option<Self> {
        key.server_key()
            .issued(&secret, RETURN_LABEL)
            .then_some(Self(secret))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    pub fn hash(&self) -> SecretHash {
        self.0.hash()
    }
}

impl DeviceCode {
    pub fn for_return(return_hash: &SecretHash, key: &PhoneHashKey) -> Self {
        let mac = key
            .server_key()
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

    fn key(byte: u8) -> PhoneHashKey {
        PhoneHashKey::new(vec![byte; 32]).unwrap()
    }

    #[test]
    fn only_return_secrets_we_issued_verify() {
        let secret = ReturnSecret::generate(&key(1)).unwrap();
        let again = UrlSecret::parse(secret.expose()).unwrap();
        assert!(ReturnSecret::verify(again, &key(1)).is_some());
        let under_another_key = UrlSecret::parse(secret.expose()).unwrap();
        assert!(ReturnSecret::verify(under_another_key, &key(2)).is_none());
        let made_up = UrlSecret::generate().unwrap();
        assert!(ReturnSecret::verify(made_up, &key(1)).is_none());
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
