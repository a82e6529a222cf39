//! Where verifications live. The service sees only [`Store`]; [`DynamoDbStore`] is the product's
//! adapter and [`MemoryStore`] serves unit tests and the local server with the same semantics:
//! conditional writes, and records past their lifetime treated as absent.

mod dynamodb;
mod memory;

pub use dynamodb::{
    aws_http_client, aws_retries, aws_timeouts, client_from_env, DynamoDbStore, AWS_VARIABLES,
    TABLE_KEY, TTL_ATTRIBUTE,
};
pub use memory::MemoryStore;

use async_trait::async_trait;

use crate::idempotency::{IdempotencyRecord, StoredResponse};
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::{ParkedCallback, Verification, VerificationResult};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("a record with this key already exists")]
    AlreadyExists,
    /// Throttling, timeouts, service errors: the write did not happen and may be retried.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
    #[error("a stored record is not in the expected shape: {0}")]
    Corrupt(String),
}

#[async_trait]
pub trait Store: Send + Sync {
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

    /// Keeps a callback that arrived before its verification; the first one for a
    /// (secret, token) pair wins, later ones change nothing.
    async fn park(&self, callback: &ParkedCallback) -> Result<(), StoreError>;

    async fn find_parked(
        &self,
        secret_hash: &SecretHash,
        token: &Token,
        now: Timestamp,
    ) -> Result<Option<ParkedCallback>, StoreError>;

    /// Adds one to the counter named `key` and returns its new value, atomically across
    /// processes. A counter that reaches `expires_at` is gone: the next increment starts at 1.
    async fn increment(
        &self,
        key: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Claims an idempotency record for the caller until `lease_until`, unless a live one exists:
    /// `None` if the caller now holds it, else the record as it stands. At most one caller holds
    /// a record at a time.
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
