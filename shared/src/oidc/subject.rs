//! Pairwise subject identifiers (OpenID Connect Core §8.1): the `sub` a relying party stores is
//! never the phone number (numbers are recycled: an account keyed on one would pass to the
//! number's next owner) and differs between sectors, so two relying parties cannot join their
//! users on it. It is a keyed hash of the sector and the number: stable for as long as the
//! subject key is, and not reversible without it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::keys::FromSecret;
use crate::phone::PhoneNumber;
use crate::server_key::{KeyTooShort, ServerKey};

const LABEL: &str = "smv pairwise sub";

/// The key of every `sub`. Rotating it changes every `sub` a relying party has stored: it is
/// generated once and kept. Its `Debug` is redacted.
#[derive(Clone)]
pub struct SubjectKey(ServerKey);

impl SubjectKey {
    pub fn new(key: Vec<u8>) -> Result<Self, KeyTooShort> {
        ServerKey::new(key).map(Self)
    }

    /// The `sub` of `phone` for the clients of `sector`: 256 bits, base64url. The sector is a
    /// client's registered name (no newline), so no two (sector, number) pairs share an input.
    pub fn subject(&self, sector: &str, phone: &PhoneNumber) -> String {
        let input = format!("{sector}\n{}", phone.e164());
        URL_SAFE_NO_PAD.encode(self.0.labelled(LABEL, input.as_bytes()))
    }
}

impl FromSecret for SubjectKey {
    fn from_secret(raw: &str) -> Result<Self, String> {
        Self::new(raw.as_bytes().to_vec()).map_err(|e| e.to_string())
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sub_is_stable_per_sector_different_across_sectors_and_never_the_number() {
        let key = SubjectKey::new(vec![3; 32]).unwrap();
        let phone = PhoneNumber::parse("+447911123456").unwrap();
        let again = PhoneNumber::parse("44 7911 123456").unwrap();
        let sub = key.subject("shop.example", &phone);
        assert_eq!(sub, key.subject("shop.example", &again));
        assert_ne!(sub, key.subject("bank.example", &phone));
        assert_ne!(
            sub,
            SubjectKey::new(vec![4; 32])
                .unwrap()
                .subject("shop.example", &phone)
        );
        assert_eq!(sub.len(), 43);
        assert!(!sub.contains("7911123456"));
        let other = PhoneNumber::parse("+447911123457").unwrap();
        assert_ne!(sub, key.subject("shop.example", &other));
        assert!(!format!("{key:?}").contains('3'));
    }
}
