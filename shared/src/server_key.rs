//! A secret key of ours (HMAC-SHA-256): the phone hash key and the callback key are each one.
//! Besides keyed hashes it issues URL secrets that carry a tag under the key, so that a secret we
//! never issued is recognised without a storage call.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::token::{RandomnessUnavailable, UrlSecret};

/// Below this a key could be guessed; 32 bytes is SHA-256's own strength.
pub const MIN_KEY_BYTES: usize = 32;
/// A tagged secret: this many random bytes, then as many bytes of tag.
const RANDOM_BYTES: usize = 16;

/// Its `Debug` is redacted.
#[derive(Clone)]
pub struct ServerKey(Arc<SecretSlice<u8>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be at least {MIN_KEY_BYTES} bytes (for example 48 random bytes, base64-encoded)")]
pub struct KeyTooShort;

impl ServerKey {
    pub fn new(key: Vec<u8>) -> Result<Self, KeyTooShort> {
        if key.len() < MIN_KEY_BYTES {
            return Err(KeyTooShort);
        }
        Ok(Self(Arc::new(key.into())))
    }

    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// One key can serve several purposes, each under its own label: `label`, a newline, then
    /// `data`. An E.164 number has no newline, so no labelled input can equal a phone number's.
    pub(crate) fn labelled(&self, label: &str, data: &[u8]) -> [u8; 32] {
        self.mac(&[label.as_bytes(), b"\n", data])
    }

    /// 128 random bits and a 128-bit tag of them under `label`: as strong as a 256-bit random
    /// secret against guessing, and recognisable by [`Self::issued`] without storage.
    pub(crate) fn issue_secret(&self, label: &str) -> Result<UrlSecret, RandomnessUnavailable> {
        let mut bytes = [0u8; 2 * RANDOM_BYTES];
        getrandom::fill(&mut bytes[..RANDOM_BYTES])
            .map_err(|e| RandomnessUnavailable(e.to_string()))?;
        let tag = self.labelled(label, &bytes[..RANDOM_BYTES]);
        bytes[RANDOM_BYTES..].copy_from_slice(&tag[..RANDOM_BYTES]);
        Ok(UrlSecret::parse(&URL_SAFE_NO_PAD.encode(bytes))
            .expect("32 bytes make a well-formed URL secret"))
    }

    /// Whether `secret` was issued by [`Self::issue_secret`] under this key and `label`; in
    /// constant time.
    pub(crate) fn issued(&self, secret: &UrlSecret, label: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(secret.expose()) else {
            return false;
        };
        if bytes.len() != 2 * RANDOM_BYTES {
            return false;
        }
        let (random, tag) = bytes.split_at(RANDOM_BYTES);
        let expected = self.labelled(label, random);
        tag.ct_eq(&expected[..RANDOM_BYTES]).into()
    }
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> ServerKey {
        ServerKey::new(vec![byte; 32]).unwrap()
    }

    #[test]
    fn a_secret_is_issued_only_under_its_key_and_label() {
        let secret = key(1).issue_secret("a").unwrap();
        assert!(key(1).issued(&secret, "a"));
        assert!(!key(2).issued(&secret, "a"));
        assert!(!key(1).issued(&secret, "b"));
        assert!(!key(1).issued(&UrlSecret::generate().unwrap(), "a"));
        assert_ne!(secret.expose(), key(1).issue_secret("a").unwrap().expose());
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_print() {
        assert_eq!(ServerKey::new(vec![1; 31]).unwrap_err(), KeyTooShort);
        let key = ServerKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        assert!(!format!("{key:?}").contains("0123"));
    }
}
