//! Where state lives, as ports a handler can take one at a time: [`Verifications`],
//! [`ParkedCallbacks`], [`Counters`], [`IdempotencyRecords`] and [`DeviceReturns`].
//! [`DynamoDbStore`] is the product's adapter for all of them (one table) and [`MemoryStore`] serves unit tests and the local
//! server with the same semantics: conditional writes, and records past their lifetime treated as
//! absent. `tests/it/store_contract.rs` holds both adapters to the same contract.

mod dynamodb;
mod memory;

pub use dynamodb::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
pub use memory::MemoryStore;

use async_trait::async_trait;

use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::{ParkedCallback, Verification, VerificationResult};

type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a record with this key already exists")]
    AlreadyExists,
    /// Throttling, timeouts, service errors: the write did not happen and may be retried.
    #[error("the call did not succeed")]
    Unavailable(#[source] Cause),
    #[error("a stored record is not in the expected shape: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        Self::Unavailable(cause.into())
    }
}

/// Verifications by token, and the one transition a callback may make.
#[async_trait]
pub trait Verifications: Send + Sync {
    /// Writes a new verification; [`StoreError::AlreadyExists`] if the token is taken.
    async fn create(&self, verification: &Verification) -> Result<(), StoreError>;

    /// Strongly consistent read; `None` for unknown tokens and records past their lifetime.
    async fn find(&self, token: &Token, now: Timestamp)
        -> Result<Option<Verification>, StoreError>;

    /// Applies a final result in one conditional write, only when
    /// [`Verification::accepts_result_from`] holds. Returns the completed verification if it
    /// applied, `None` if the condition did not hold.
    async fn complete(
        &self,
        token: &Token,
        secret_hash: &SecretHash,
        result: &VerificationResult,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError>;

    /// Marks the verification redeemed in one conditional write, only when
    /// [`Verification::accepts_redemption`] holds; `false` if it did not.
    async fn redeem(&self, token: &Token, now: Timestamp) -> Result<bool, StoreError>;

    /// Counts a wrong redeem attempt, unless the verification was already redeemed.
    async fn fail_redemption(&self, token: &Token, now: Timestamp) -> Result<(), StoreError>;

    /// Writes `next` (the whole verification, at version `read_version + 1`) in one
    /// conditional write, only if the stored verification is still at `read_version`: a change
    /// computed from a read. `false` if something else wrote it meanwhile.
    async fn replace(&self, read_version: u64, next: &Verification) -> Result<bool, StoreError>;
}

/// Return URLs a device has already come back to: each shows its device code once.
#[async_trait]
pub trait DeviceReturns: Send + Sync {
    /// `true` for the first arrival with this return secret's hash (kept until `expires_at`),
    /// `false` for every later one.
    async fn first_return(
        &self,
        return_hash: &SecretHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// Callbacks that arrived before their verification was stored (the Brazil race).
#[async_trait]
pub trait ParkedCallbacks: Send + Sync {
    /// Keeps a callback; the first one for a (secret, token) pair wins, later ones change nothing.
    async fn park(&self, callback: &ParkedCallback) -> Result<(), StoreError>;

    async fn find_parked(
        &self,
        secret_hash: &SecretHash,
        token: &Token,
        now: Timestamp,
    ) -> Result<Option<ParkedCallback>, StoreError>;
}

/// Fixed-window counters for rate limits.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Adds one to the counter named `key` if it is below `max`, atomically across processes;
    /// whether it did. At `max` nothing is written. A counter that reaches `expires_at` is gone:
    /// the next increment starts at 1.
    async fn increment_below(
        &self,
        key: &str,
        max: u64,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Takes one back from a live counter (a refused start); an expired or missing one is left.
    async fn decrement(&self, key: &str, now: Timestamp) -> Result<(), StoreError>;
}

/// The answer given to the first request with an `Idempotency-Key`, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub location: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    /// `None` while the first request is still running.
    pub response: Option<StoredResponse>,
}

/// `Idempotency-Key` records: claimed by one request, then holding its answer for replays.
#[async_trait]
pub trait IdempotencyRecords: Send + Sync {
    /// Claims a record for the caller until `lease_until`, unless a live one exists: `None` if
    /// the caller now holds it, else the record as it stands. At most one caller holds a record
    /// at a time.
    async fn claim_idempotent(
        &self,
        key: &str,
        fingerprint: &str,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Keeps the claimed request's answer for replay until `expires_at`.
    async fn finish_idempotent(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Gives up a claim that produced no answer worth replaying, so that a retry may try again.
    /// A record that already holds an answer is left alone.
    async fn release_idempotent(&self, key: &str) -> Result<(), StoreError>;
}

/// Every port at once: what an adapter for a whole deployment provides. Each function's context
/// keeps only the ports it uses.
pub trait Store:
    Verifications + ParkedCallbacks + Counters + IdempotencyRecords + DeviceReturns
{
}

impl<T> Store for T where
    T: Verifications + ParkedCallbacks + Counters + IdempotencyRecords + DeviceReturns
{
}
