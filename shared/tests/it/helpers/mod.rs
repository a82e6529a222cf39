//! Test helpers, one concern a file; everything is re-exported here, so that a test file says
//! `use crate::helpers::{...}`.
//!
//! - [`app`]: the test app (all three functions, fake Infobip, manual clock) and its verbs.
//! - [`camara`]: network-based CAMARA switched on for German numbers.
//! - [`events`]: requests as API Gateway events, parsed by lambda_http; reading responses.
//! - [`dynamodb`]: tables and KMS keys on moto.
//! - [`fault_proxy`]: DynamoDB faults injected on the wire, in front of moto.
//! - [`faulty_store`]: storage faults injected at the port.
//! - [`logs`]: log capture.
//! - [`jwt`]: assertions checked with jsonwebtoken.

pub mod app;
pub mod camara;
pub mod dynamodb;
pub mod events;
pub mod fault_proxy;
pub mod faulty_store;
pub mod jwt;
pub mod logs;

pub use app::*;
pub use camara::*;
pub use dynamodb::*;
pub use events::*;
pub use faulty_store::*;
pub use jwt::*;
pub use logs::*;

/// Two tests of one scenario: `$memory` on the in-memory store, `$dynamodb` on DynamoDB (moto);
/// `$scenario` takes the store.
macro_rules! on_each_store {
    ($scenario:ident: $memory:ident, $dynamodb:ident) => {
        #[tokio::test]
        async fn $memory() {
            $scenario(std::sync::Arc::new(smv_shared::store::MemoryStore::new())).await;
        }

        #[tokio::test]
        async fn $dynamodb() {
            $scenario($crate::helpers::dynamodb_store().await).await;
        }
    };
}
pub(crate) use on_each_store;
