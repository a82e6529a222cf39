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
const RANDOM_BYTES: usize = 16;

/// 128 random bits and a 128-bit tag under the server key: a return URL we never issued is
/// recognised without a storage call, so a flood of made-up return URLs writes nothing.
pub struct ReturnSecret(UrlSecret);

/// The code a device is shown on return: derived from the return secret's hash under the server
/// key, so that the redeem step recomputes it from what the verification stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCode(String);

impl ReturnSecret {
    pub fn generate(key: &PhoneHashKey) -> Result<Self, RandomnessUnavailable> {
        let mut bytes = [0u8; 2 * RANDOM_BYTES];
        getrandom::fill(&mut bytes[..RANDOM_BYTES])
            .map_err(|e| RandomnessUnavailable(e.to_string()))?;
        let tag = key.labelled(RETURN_LABEL, &bytes[..RANDOM_BYTES]);
        bytes[RANDOM_BYTES..].copy_from_slice(&tag[..RANDOM_BYTES]);
        let secret = UrlSecret::parse(&URL_SAFE_NO_PAD.encode(bytes))
            .expect("32 bytes make a well-formed URL secret");
        Ok(Self(secret))
    }

    /// `None` unless `secret` is one we issued under `key`.
    pub fn verify(secret: UrlSecret, key: &PhoneHashKey) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(secret.expose()).ok()?;
        let (random, tag) = bytes.split_at(RANDOM_BYTES);
        let expected = key.labelled(RETURN_LABEL, random);
        bool::from(tag.ct_eq(&expected[..RANDOM_BYTES])).then_some(Self(secret))
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
        let mac = key.labelled(DEVICE_CODE_LABEL, return_hash.as_str().as_bytes());
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
