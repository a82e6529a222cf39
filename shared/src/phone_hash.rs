//! Phone numbers at rest: a keyed hash (HMAC-SHA-256 of the E.164 number under `PHONE_HASH_KEY`)
//! names a number wherever one must be recognised later (rate-limit counters, Idempotency-Key
//! fingerprints). A bare SHA-256 would not do: there are few enough phone numbers to hash them
//! all, so a digest without a secret key is the number in disguise.

use std::fmt;

use crate::keys::FromSecret;
use crate::phone::PhoneNumber;
use crate::server_key::ServerKey;
pub use crate::server_key::{KeyTooShort, MIN_KEY_BYTES};

/// The secret key of [`PhoneHash`]es. Its `Debug` is redacted.
#[derive(Clone)]
pub struct PhoneHashKey(ServerKey);

impl PhoneHashKey {
    pub fn new(key: Vec<u8>) -> Result<Self, KeyTooShort> {
        ServerKey::new(key).map(Self)
    }

    pub fn hash(&self, phone: &PhoneNumber) -> PhoneHash {
        PhoneHash(hex::encode(self.0.mac(&[phone.e164().as_bytes()])))
    }

    /// A key of its own for `purpose`, derived from this one (labelled, so never a number's hash).
    pub(crate) fn derived(&self, purpose: &str) -> [u8; 32] {
        self.0.labelled(purpose, b"")
    }
}

impl FromSecret for PhoneHashKey {
    fn from_secret(raw: &str) -> Result<Self, String> {
        Self::new(raw.as_bytes().to_vec()).map_err(|e| e.to_string())
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
            hex::encode(
                key.0
                    .mac(&[b"Test Using Larger Than Block-Size Key - Hash Key First"])
            ),
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
        use sha2::{Digest, Sha256};
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
