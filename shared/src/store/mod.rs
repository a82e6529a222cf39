//! Where verifications live. The service sees only [`Store`]; [`DynamoDbStore`] is the product's
//! adapter and [`MemoryStore`] serves unit tests and the local server with the same semantics:
//! conditional writes, and records past their lifetime treated as absent.

mod dynamodb;
mod memory;

pub use dynamodb::{aws_http_client, DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
pub use memory::MemoryStore;

use async_trait::async_trait;

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
}
