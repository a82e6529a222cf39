//! `Idempotency-Key` on `POST /verifications`: a mobile network that drops a response makes the
//! app send the start again, and a second start would be a second Infobip charge and a second
//! verification racing the first. The first request with a key claims it; its final answer is kept
//! and replayed to every retry with the same key and the same request.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::binding::StartBinding;
use crate::device::Subscriber;
use crate::phone_hash::PhoneHash;
use crate::sim_credential::CarrierIds;
use crate::store::{IdempotencyRecord, IdempotencyRecords, StoreError, StoredResponse};
use crate::time::Timestamp;

/// How long a claimed key stays claimed without an answer. Longer than the start function's own
/// timeout, so a claim is only ever taken over from a request that can no longer be running.
pub const LEASE: Duration = Duration::from_secs(30);

const MAX_KEY_LEN: usize = 255;

/// A client's key: 1 to 255 visible ASCII characters but a comma (a UUID is the usual choice).
/// API Gateway's HTTP API joins repeated headers with commas, so refusing commas is what makes
/// two `Idempotency-Key` headers a refusal there too, rather than one key that nobody sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key must be 1 to 255 visible ASCII characters without a comma, sent once")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    pub fn parse(raw: &[u8]) -> Result<Self, InvalidIdempotencyKey> {
        // The draft standard quotes the key as a structured-field string; accept both spellings.
        let raw = match raw {
            [b'"', inner @ .., b'"'] => inner,
            other => other,
        };
        let visible = raw.iter().all(|b| (0x21..=0x7e).contains(b) && *b != b',');
        if raw.is_empty() || raw.len() > MAX_KEY_LEN || !visible {
            return Err(InvalidIdempotencyKey);
        }
        Ok(Self(String::from_utf8_lossy(raw).into_owned()))
    }

    /// Where the key's record lives. Keys are chosen by clients, so two apps may pick the same
    /// one; scoping it to the subscriber's addresses keeps one user from receiving another's
    /// answer (a token and redirect link) by replaying their key from elsewhere.
    pub fn record_key(&self, subscriber: &Subscriber) -> String {
        let mut digest = Sha256::new();
        digest.update(subscriber.as_str().as_bytes());
        digest.update(b"\n");
        digest.update(self.0.as_bytes());
        format!("idem#{}", hex::encode(digest.finalize()))
    }
}

/// What makes two starts "the same request": the number they verify (as its keyed hash), what
/// they bind it to (challenge, nonce) and, for a SIM-based start, the device's carriers.
/// Spelling (`+44 7911…` or `447911…`) and fields this backend ignores do not matter.
pub fn fingerprint(
    phone: &PhoneHash,
    binding: Option<&StartBinding>,
    sim_carriers: Option<&CarrierIds>,
) -> String {
    let mut digest = Sha256::new();
    digest.update(phone.as_str().as_bytes());
    if let Some(binding) = binding {
        digest.update(b"\n");
        digest.update(binding.challenge.as_str().as_bytes());
        digest.update(b"\n");
        digest.update(binding.nonce.as_ref().map_or("", |n| n.as_str()).as_bytes());
    }
    // Absent for the country's method, so records of starts before SIM-based existed still match.
    if let Some(carriers) = sim_carriers {
        digest.update(b"\nsim");
        for carrier in carriers.as_slice() {
            digest.update(format!("\n{carrier}").as_bytes());
        }
    }
    hex::encode(digest.finalize())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// This request holds the key now: go ahead, then
    /// [`IdempotencyRecords::finish_idempotent`] or [`IdempotencyRecords::release_idempotent`].
    Proceed,
    Replay(StoredResponse),
    /// The key was used for a different request.
    Reused,
    /// The first request with this key has not answered yet.
    InProgress,
}

/// Claims `record_key` for the request `fingerprint` names; a record of `fingerprint` or of one
/// of `also_same` (the request's fingerprints under the keys before a rotation) is this request's.
pub async fn begin(
    records: &dyn IdempotencyRecords,
    record_key: &str,
    fingerprint: &str,
    also_same: &[String],
    now: Timestamp,
) -> Result<Decision, StoreError> {
    let existing = records
        .claim_idempotent(record_key, fingerprint, now.plus(LEASE), now)
        .await?;
    let same = |stored: &str| stored == fingerprint || also_same.iter().any(|f| f == stored);
    Ok(match existing {
        None => Decision::Proceed,
        Some(record) if !same(&record.fingerprint) => Decision::Reused,
        Some(IdempotencyRecord {
            response: Some(response),
            ..
        }) => Decision::Replay(response),
        Some(_) => Decision::InProgress,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse(b"8e03978e-40d5-43e8-bc93-6894a57f9324").is_ok());
        assert_eq!(
            IdempotencyKey::parse(b"\"abc\""),
            IdempotencyKey::parse(b"abc")
        );
        for bad in [
            &b""[..],
            b"\"\"",
            b"two words",
            b"tab\there",
            b"two,keys",
            &[0xff, 0xfe],
            &[b'a'; 256],
        ] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_key_from_another_address_is_another_record() {
        let key = IdempotencyKey::parse(b"k-1").unwrap();
        let at = |ip: &str| key.record_key(&Subscriber::of(ip.parse().unwrap()));
        let here = at("203.0.113.1");
        let there = at("203.0.113.2");
        assert_ne!(here, there);
        assert!(here.starts_with("idem#") && !here.contains("k-1"));
        // A phone that moves to another address in its own IPv6 /64 is the same subscriber.
        assert_eq!(at("2001:db8:1:2::10"), at("2001:db8:1:2::99"));
    }
}
