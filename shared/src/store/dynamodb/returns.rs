//! Device returns, keyed `return#{return secret hash}`: present once a device has been shown
//! its code.

use async_trait::async_trait;

use super::item::*;
use super::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
use crate::store::{DeviceReturns, StoreError};
use crate::time::Timestamp;
use crate::token::SecretHash;

#[async_trait]
impl DeviceReturns for DynamoDbStore {
    async fn first_return(
        &self,
        return_hash: &SecretHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let marker = Item::from([
            (
                TABLE_KEY.into(),
                s(&format!("return#{}", return_hash.as_str())),
            ),
            (CREATED_AT.into(), n(now.as_millis())),
            (TTL_ATTRIBUTE.into(), n(ttl_secs(expires_at))),
        ]);
        self.put_if_absent(marker, now).await
    }
}
