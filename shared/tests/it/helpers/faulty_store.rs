//! A store that fails on demand, in front of a real one.

use std::sync::Arc;

use async_trait::async_trait;
use smv_shared::store::{
    Counters, DeviceReturns, IdempotencyRecord, IdempotencyRecords, ParkedCallbacks, Store,
    StoreError, StoredResponse, Verifications,
};
use smv_shared::time::Timestamp;
use smv_shared::token::{SecretHash, Token};
use smv_shared::verification::{ParkedCallback, Verification, VerificationResult};

/// A store that records every operation and fails the ones it is told to, as DynamoDB does when
/// it throttles (`StoreError::Unavailable`); everything else goes to the wrapped store.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    failures: std::sync::Mutex<std::collections::HashMap<&'static str, u32>>,
    calls: std::sync::Mutex<Vec<&'static str>>,
    counter_writes: std::sync::Mutex<Vec<String>>,
}

impl FaultyStore {
    pub fn new(inner: impl Store + 'static) -> Arc<Self> {
        Self::wrapping(Arc::new(inner))
    }

    pub fn wrapping(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failures: Default::default(),
            calls: Default::default(),
            counter_writes: Default::default(),
        })
    }

    /// The next `times` calls of `operation` fail (0 clears).
    pub fn fail(&self, operation: &'static str, times: u32) {
        self.failures.lock().unwrap().insert(operation, times);
    }

    /// Every operation called so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    /// The counters changed so far (`limit#Global#…`), in order: each increment that counted,
    /// each decrement asked for.
    pub fn counter_writes(&self) -> Vec<String> {
        self.counter_writes.lock().unwrap().clone()
    }

    fn enter(&self, operation: &'static str) -> Result<(), StoreError> {
        self.calls.lock().unwrap().push(operation);
        let mut failures = self.failures.lock().unwrap();
        match failures.get_mut(operation) {
            Some(left) if *left > 0 => {
                *left -= 1;
                Err(StoreError::unavailable(format!(
                    "{operation}: ProvisionedThroughputExceededException (injected)"
                )))
            }
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Verifications for FaultyStore {
    async fn create(&self, v: &Verification) -> Result<(), StoreError> {
        self.enter("create")?;
        self.inner.create(v).await
    }
    async fn find(&self, t: &Token, now: Timestamp) -> Result<Option<Verification>, StoreError> {
        self.enter("find")?;
        self.inner.find(t, now).await
    }
    async fn complete(
        &self,
        t: &Token,
        h: &SecretHash,
        r: &VerificationResult,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError> {
        self.enter("complete")?;
        self.inner.complete(t, h, r, now).await
    }
    async fn redeem(&self, t: &Token, now: Timestamp) -> Result<bool, StoreError> {
        self.enter("redeem")?;
        self.inner.redeem(t, now).await
    }
    async fn fail_redemption(&self, t: &Token, now: Timestamp) -> Result<(), StoreError> {
        self.enter("fail_redemption")?;
        self.inner.fail_redemption(t, now).await
    }
    async fn replace(&self, version: u64, next: &Verification) -> Result<bool, StoreError> {
        self.enter("replace")?;
        self.inner.replace(version, next).await
    }
}

#[async_trait]
impl DeviceReturns for FaultyStore {
    async fn first_return(
        &self,
        h: &SecretHash,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.enter("first_return")?;
        self.inner.first_return(h, until, now).await
    }
}

#[async_trait]
impl ParkedCallbacks for FaultyStore {
    async fn park(&self, c: &ParkedCallback) -> Result<(), StoreError> {
        self.enter("park")?;
        self.inner.park(c).await
    }
    async fn find_parked(
        &self,
        h: &SecretHash,
        t: &Token,
        now: Timestamp,
    ) -> Result<Option<ParkedCallback>, StoreError> {
        self.enter("find_parked")?;
        self.inner.find_parked(h, t, now).await
    }
}

#[async_trait]
impl Counters for FaultyStore {
    async fn increment_below(
        &self,
        k: &str,
        max: u64,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.enter("increment")?;
        let counted = self.inner.increment_below(k, max, at, now).await?;
        if counted {
            self.counter_writes.lock().unwrap().push(k.to_owned());
        }
        Ok(counted)
    }
    async fn decrement(&self, k: &str, now: Timestamp) -> Result<(), StoreError> {
        self.enter("decrement")?;
        self.counter_writes.lock().unwrap().push(k.to_owned());
        self.inner.decrement(k, now).await
    }
}

#[async_trait]
impl IdempotencyRecords for FaultyStore {
    async fn claim_idempotent(
        &self,
        k: &str,
        f: &str,
        lease: Timestamp,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.enter("claim_idempotent")?;
        self.inner.claim_idempotent(k, f, lease, now).await
    }
    async fn finish_idempotent(
        &self,
        k: &str,
        f: &str,
        r: &StoredResponse,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.enter("finish_idempotent")?;
        self.inner.finish_idempotent(k, f, r, at).await
    }
    async fn release_idempotent(&self, k: &str) -> Result<(), StoreError> {
        self.enter("release_idempotent")?;
        self.inner.release_idempotent(k).await
    }
}
