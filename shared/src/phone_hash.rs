//! Phone numbers at rest: a keyed hash (HMAC-SHA-256 of the E.164 number under `PHONE_HASH_KEY`)
//! names a number wherever one must be recognised later (rate-limit counters, Idempotency-Key
//! fingerprints). A bare SHA-256 would not do: there are few enough phone numbers to hash them
//! all, so a digest without a secret key is the number in disguise.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use crate::phone::PhoneNumber;

/// Below this a key could be guessed; 32 bytes is SHA-256's own strength.
pub const MIN_KEY_BYTES: usize = 32;

/// The secret key of [`PhoneHash`]es. Its `Debug` is redacted.
#[derive(Clone)]
pub struct PhoneHashKey(Arc<SecretSlice<u8>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be at least {MIN_KEY_BYTES} bytes (for example 48 random bytes, base64-encoded)")]
pub struct KeyTooShort;

impl PhoneHashKey {
    pub fn new(key: Vec<u8>) -> Result<Self, KeyTooShort> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyTooShort);
        }
        Ok(Self(Arc::new(key.into())))
    }

    pub fn hash(&self, phone: &PhoneNumber) -> PhoneHash {
        PhoneHash(hex::encode(self.hmac(&[phone.e164().as_bytes()])))
    }

    /// The same key serves other purposes (return URLs, device codes), each under its own label:
    /// `label`, a newline, then `data`. An E.164 number has no newline, so no labelled input can
    /// equal a phone number's.
    pub(crate) fn labelled(&self, label: &str, data: &[u8]) -> [u8; 32] {
        self.hmac(&[label.as_bytes(), b"\n", data])
    }

    fn hmac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for PhoneHashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneHashKey(<redacted>)")
    }
}

/// A phone number's keyed hash, hex encoded: equal for equal numbers under one key, and of no use
/// to anyone without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneHash(String);

impl PhoneHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(hex_digest: &str) -> Option<Self> {
        let well_formed = hex_digest.len() == 64
            && hex_digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then(|| Self(hex_digest.to_owned()))
    }

    /// In constant time.
    pub fn matches(&self, other: &PhoneHash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 6: a key longer than the block size.
        let key = PhoneHashKey::new(vec![0xaa; 131]).unwrap();
        assert_eq!(
            hex::encode(key.hmac(&[b"Test Using Larger Than Block-Size Key - Hash Key First"])),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_hash_is_the_numbers_under_one_key_only() {
        let phone = PhoneNumber::parse("+447911123456").unwrap();
        let spelled_otherwise = PhoneNumber::parse("44 7911 123456").unwrap();
        let key = PhoneHashKey::new(vec![7; 32]).unwrap();
        let other_key = PhoneHashKey::new(vec![8; 32]).unwrap();
        assert_eq!(key.hash(&phone), key.hash(&spelled_otherwise));
        assert_ne!(key.hash(&phone), other_key.hash(&phone));
        let hash = key.hash(&phone);
        assert_eq!(hash.as_str().len(), 64);
        assert!(!hash.as_str().contains("7911123456"));
        // Not the bare digest anyone could compute from the number alone.
        use sha2::Digest;
        for bare in ["447911123456", "+447911123456"] {
            assert_ne!(hash.as_str(), hex::encode(Sha256::digest(bare.as_bytes())));
        }
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_print() {
        assert_eq!(PhoneHashKey::new(vec![1; 31]).unwrap_err(), KeyTooShort);
        let key = PhoneHashKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        assert!(!format!("{key:?}").contains("0123"));
    }
}
