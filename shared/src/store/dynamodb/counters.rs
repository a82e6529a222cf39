//! Rate-limit counters, keyed `limit#…`.

use async_trait::async_trait;

use super::item::*;
use super::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
use crate::store::{Counters, StoreError};
use crate::time::Timestamp;

const HITS: &str = "hits";

#[async_trait]
impl Counters for DynamoDbStore {
    async fn increment(
        &self,
        key: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        // TTL deletion is lazy, so an expired counter may still be there: restart it explicitly.
        // Each attempt loses only to another writer's progress, so a few always suffice.
        for _ in 0..3 {
            let added = self
                .client
                .update_item()
                .table_name(&self.table)
                .key(TABLE_KEY, s(key))
                .update_expression("SET #ttl = if_not_exists(#ttl, :ttl) ADD #hits :one")
                .condition_expression("attribute_not_exists(#key) OR #ttl > :now_s")
                .expression_attribute_names("#key", TABLE_KEY)
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_names("#hits", HITS)
                .expression_attribute_values(":ttl", n(ttl_secs(expires_at)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now_s", now_secs(now))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
                .send()
                .await;
            match added {
                Ok(output) => {
                    let item = output.attributes.unwrap_or_default();
                    return get_n(&item, HITS);
                }
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(unavailable(e)),
            }
            let restarted = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(TABLE_KEY, s(key))
                .item(HITS, n(1))
                .item(TTL_ATTRIBUTE, n(ttl_secs(expires_at)))
                .condition_expression("#ttl <= :now_s")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":now_s", now_secs(now))
                .send()
                .await;
            match restarted {
                Ok(_) => return Ok(1),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::unavailable(format!(
            "counter {key} kept changing under concurrent writers"
        )))
    }

    async fn decrement(&self, key: &str, now: Timestamp) -> Result<(), StoreError> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(key))
            .update_expression("ADD #hits :minus_one")
            .condition_expression("attribute_exists(#key) AND #ttl > :now_s AND #hits > :zero")
            .expression_attribute_names("#key", TABLE_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#hits", HITS)
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":now_s", now_secs(now))
            .send()
            .await;
        conditional(outcome, (), ())
    }
}
