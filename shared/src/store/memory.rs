use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    Counters, DeviceReturns, IdempotencyRecord, IdempotencyRecords, ParkedCallbacks, StoreError,
    StoredResponse, Verifications,
};
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::{ParkedCallback, State, Verification, VerificationResult};

/// In-process storage with DynamoDB's semantics. Expired entries are filtered on read, like the
/// DynamoDB adapter must (TTL deletion is lazy), dropped when their key is written again, and
/// swept out now and then (as DynamoDB's TTL does), so that a long `smv-local` run keeps only
/// live entries.
#[derive(Debug, Default)]
pub struct MemoryStore {
    verifications: Mutex<HashMap<Token, Verification>>,
    parked: Mutex<HashMap<(SecretHash, Token), ParkedCallback>>,
    counters: Mutex<HashMap<String, (u64, Timestamp)>>,
    idempotent: Mutex<HashMap<String, (IdempotencyRecord, Timestamp)>>,
    returns: Mutex<HashMap<SecretHash, Timestamp>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Whenever a map reaches a power of two of at least [`SWEEP_FROM`] entries, its expired ones go:
/// a linear pass each time the map doubles, so constant work per write on average.
const SWEEP_FROM: usize = 1024;

fn sweep<K, V>(map: &mut HashMap<K, V>, now: Timestamp, expires_at: impl Fn(&V) -> Timestamp) {
    if map.len() >= SWEEP_FROM && map.len().is_power_of_two() {
        map.retain(|_, value| now < expires_at(value));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a half-applied write: every write below is a
    // single insert or assignment. So a poisoned lock is still consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl Verifications for MemoryStore {
    async fn create(&self, verification: &Verification) -> Result<(), StoreError> {
        let mut map = lock(&self.verifications);
        // DynamoDB's condition sees an expired-but-undeleted item as present; so do we.
        if map.contains_key(&verification.token) {
            return Err(StoreError::AlreadyExists);
        }
        map.insert(verification.token.clone(), verification.clone());
        sweep(&mut map, verification.created_at, |v| v.expires_at);
        Ok(())
    }

    async fn find(
        &self,
        token: &Token,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError> {
        let map = lock(&self.verifications);
        Ok(map.get(token).filter(|v| v.exists_at(now)).cloned())
    }

    async fn complete(
        &self,
        token: &Token,
        secret_hash: &SecretHash,
        result: &VerificationResult,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError> {
        let mut map = lock(&self.verifications);
        match map.get_mut(token) {
            Some(v) if v.accepts_result_from(secret_hash, now) => {
                v.state = State::Completed {
                    result: result.clone(),
                    at: now,
                };
                v.version += 1;
                Ok(Some(v.clone()))
            }
            _ => Ok(None),
        }
    }

    async fn redeem(&self, token: &Token, now: Timestamp) -> Result<bool, StoreError> {
        let mut map = lock(&self.verifications);
        match map.get_mut(token) {
            Some(v) if v.accepts_redemption(now) => {
                v.redemption.redeemed_at = Some(now);
                v.version += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn fail_redemption(&self, token: &Token, now: Timestamp) -> Result<(), StoreError> {
        let mut map = lock(&self.verifications);
        if let Some(v) = map.get_mut(token) {
            if v.exists_at(now) && v.redemption.redeemed_at.is_none() {
                v.redemption.failures += 1;
                v.version += 1;
            }
        }
        Ok(())
    }

    async fn replace(&self, read_version: u64, next: &Verification) -> Result<bool, StoreError> {
        let mut map = lock(&self.verifications);
        match map.get_mut(&next.token) {
            Some(v) if v.version == read_version => {
                *v = Verification {
                    version: read_version + 1,
                    ..next.clone()
                };
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl DeviceReturns for MemoryStore {
    async fn first_return(
        &self,
        return_hash: &SecretHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut map = lock(&self.returns);
        if map.get(return_hash).is_some_and(|until| now < *until) {
            return Ok(false);
        }
        map.insert(return_hash.clone(), expires_at);
        sweep(&mut map, now, |until| *until);
        Ok(true)
    }
}

#[async_trait]
impl ParkedCallbacks for MemoryStore {
    async fn park(&self, callback: &ParkedCallback) -> Result<(), StoreError> {
        let mut map = lock(&self.parked);
        let key = (callback.secret_hash.clone(), callback.token.clone());
        let live = map
            .get(&key)
            .is_some_and(|p| callback.received_at < p.expires_at);
        if !live {
            map.insert(key, callback.clone());
            sweep(&mut map, callback.received_at, |p| p.expires_at);
        }
        Ok(())
    }

    async fn find_parked(
        &self,
        secret_hash: &SecretHash,
        token: &Token,
        now: Timestamp,
    ) -> Result<Option<ParkedCallback>, StoreError> {
        let map = lock(&self.parked);
        Ok(map
            .get(&(secret_hash.clone(), token.clone()))
            .filter(|p| now < p.expires_at)
            .cloned())
    }
}

#[async_trait]
impl Counters for MemoryStore {
    async fn increment_below(
        &self,
        key: &str,
        max: u64,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut map = lock(&self.counters);
        let live = map
            .get(key)
            .filter(|(_, until)| now < *until)
            .map(|(hits, _)| *hits);
        let hits = live.unwrap_or(0);
        if hits >= max {
            return Ok(false);
        }
        let until = map
            .get(key)
            .filter(|_| live.is_some())
            .map_or(expires_at, |(_, until)| *until);
        map.insert(key.to_owned(), (hits + 1, until));
        sweep(&mut map, now, |(_, expires_at)| *expires_at);
        Ok(true)
    }

    async fn decrement(&self, key: &str, now: Timestamp) -> Result<(), StoreError> {
        let mut map = lock(&self.counters);
        if let Some(entry) = map.get_mut(key).filter(|(_, until)| now < *until) {
            entry.0 = entry.0.saturating_sub(1);
        }
        Ok(())
    }
}

#[async_trait]
impl IdempotencyRecords for MemoryStore {
    async fn claim_idempotent(
        &self,
        key: &str,
        fingerprint: &str,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let mut map = lock(&self.idempotent);
        match map.get(key) {
            Some((record, expires_at)) if now < *expires_at => Ok(Some(record.clone())),
            _ => {
                let record = IdempotencyRecord {
                    fingerprint: fingerprint.to_owned(),
                    response: None,
                };
                map.insert(key.to_owned(), (record, lease_until));
                sweep(&mut map, now, |(_, expires_at)| *expires_at);
                Ok(None)
            }
        }
    }

    async fn finish_idempotent(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let record = IdempotencyRecord {
            fingerprint: fingerprint.to_owned(),
            response: Some(response.clone()),
        };
        lock(&self.idempotent).insert(key.to_owned(), (record, expires_at));
        Ok(())
    }

    async fn release_idempotent(&self, key: &str) -> Result<(), StoreError> {
        let mut map = lock(&self.idempotent);
        if map.get(key).is_some_and(|(r, _)| r.response.is_none()) {
            map.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn expired_entries_are_swept_out_as_the_store_grows() {
        let store = MemoryStore::new();
        let start = Timestamp::from_millis(1_795_000_000_000);
        let later = start.plus(Duration::from_secs(60));
        for i in 0..1500 {
            let key = format!("old-{i}");
            store
                .increment_below(&key, 10, start.plus(Duration::from_secs(1)), start)
                .await
                .unwrap();
        }
        for i in 0..(2048 - 1500) {
            let key = format!("new-{i}");
            store
                .increment_below(&key, 10, later.plus(Duration::from_secs(1)), later)
                .await
                .unwrap();
        }
        let counters = lock(&store.counters);
        assert_eq!(
            counters.len(),
            2048 - 1500,
            "only the live counters are left"
        );
        assert!(counters.keys().all(|k| k.starts_with("new-")));
    }
}
