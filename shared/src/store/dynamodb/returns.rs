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
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(TABLE_KEY, s(&format!("return#{}", return_hash.as_str())))
            .item(CREATED_AT, n(now.as_millis()))
            .item(TTL_ATTRIBUTE, n(ttl_secs(expires_at)))
            .condition_expression("attribute_not_exists(#key) OR #ttl <= :now_s")
            .expression_attribute_names("#key", TABLE_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now_s", now_secs(now))
            .send()
            .await;
        conditional(outcome, true, false)
    }
}
