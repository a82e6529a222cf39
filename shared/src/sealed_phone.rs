//! The number a CAMARA verification must name to Infobip after the start: when the device comes
//! back with its operator's `code`, or the app sends its SIM's `vp_token`, Infobip is asked
//! whether *that* number is the device's, and neither request carries it. Nothing stores a
//! number in the clear, so the record keeps it sealed (ChaCha20-Poly1305) under a key derived
//! from `PHONE_HASH_KEY`, bound to the verification's token: a sealed number copied into another
//! record does not open there, and storage alone (a backup, a table export) reveals nothing.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};

use crate::phone::PhoneNumber;
use crate::phone_hash::PhoneHashKey;
use crate::token::{RandomnessUnavailable, Token};

/// Nonce, then ciphertext and tag, base64url. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPhone(String);

/// The longest an E.164 number is (15 digits and the `+`), sealed and encoded, with room.
const MAX_STORED_CHARS: usize = 128;

impl SealedPhone {
    /// `phone` sealed for the verification `token`, under `key` (a fresh random nonce each time).
    pub fn seal(
        key: &PhoneHashKey,
        phone: &PhoneNumber,
        token: &Token,
    ) -> Result<Self, RandomnessUnavailable> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| RandomnessUnavailable(e.to_string()))?;
        let mut sealed = phone.e164().into_bytes();
        aead_key(key)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(token.as_str().as_bytes()),
                &mut sealed,
            )
            .map_err(|_| RandomnessUnavailable("the number could not be sealed".into()))?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(Self(URL_SAFE_NO_PAD.encode(stored)))
    }

    /// The number, when this was sealed for `token` under `key`; `None` otherwise (another key,
    /// another record, or altered).
    pub fn open(&self, key: &PhoneHashKey, token: &Token) -> Option<PhoneNumber> {
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let mut sealed = sealed.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let opened = aead_key(key)
            .open_in_place(nonce, Aad::from(token.as_str().as_bytes()), &mut sealed)
            .ok()?;
        PhoneNumber::parse(std::str::from_utf8(opened).ok()?).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        let plausible = raw.len() <= MAX_STORED_CHARS && URL_SAFE_NO_PAD.decode(raw).is_ok();
        plausible.then(|| Self(raw.to_owned()))
    }
}

fn aead_key(key: &PhoneHashKey) -> LessSafeKey {
    let bytes = key.derived("smv sealed phone");
    LessSafeKey::new(
        UnboundKey::new(&CHACHA20_POLY1305, &bytes).expect("ChaCha20-Poly1305 takes 32 bytes"),
    )
}

impl fmt::Debug for SealedPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedPhone(<sealed>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PhoneHashKey {
        PhoneHashKey::new(vec![byte; 32]).unwrap()
    }

    fn token(last: char) -> Token {
        Token::parse(&format!("123e4567-e89b-12d3-a456-42665544000{last}")).unwrap()
    }

    #[test]
    fn opens_only_for_its_token_under_its_key() {
        let phone = PhoneNumber::parse("+447911123456").unwrap();
        let sealed = SealedPhone::seal(&key(1), &phone, &token('0')).unwrap();
        assert_eq!(sealed.open(&key(1), &token('0')), Some(phone.clone()));
        assert_eq!(sealed.open(&key(2), &token('0')), None);
        assert_eq!(sealed.open(&key(1), &token('1')), None);
        assert!(!sealed.as_str().contains("7911123456"));
        assert!(!format!("{sealed:?}").contains(sealed.as_str()));
        let again = SealedPhone::seal(&key(1), &phone, &token('0')).unwrap();
        assert_ne!(sealed, again, "a fresh nonce each time");
        let stored = SealedPhone::from_stored(sealed.as_str()).unwrap();
        assert_eq!(stored.open(&key(1), &token('0')), Some(phone));
    }

    #[test]
    fn an_altered_seal_does_not_open() {
        let phone = PhoneNumber::parse("+447911123456").unwrap();
        let sealed = SealedPhone::seal(&key(1), &phone, &token('0')).unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(sealed.as_str()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = SealedPhone(URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(altered.open(&key(1), &token('0')), None);
        assert_eq!(SealedPhone("AAAA".into()).open(&key(1), &token('0')), None);
        assert!(SealedPhone::from_stored("not base64!").is_none());
    }
}
