//! Rate-limit counters, keyed `limit#…`.

use async_trait::async_trait;

use super::item::*;
use super::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
use crate::store::{Counters, StoreError};
use crate::time::Timestamp;

const HITS: &str = "hits";

#[async_trait]
impl Counters for DynamoDbStore {
    async fn increment_below(
        &self,
        key: &str,
        max: u64,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        if max == 0 {
            return Ok(false);
        }
        // TTL deletion is lazy, so an expired counter may still be there: restart it explicitly.
        let added = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(key))
            .update_expression("SET #ttl = if_not_exists(#ttl, :ttl) ADD #hits :one")
            .condition_expression("attribute_not_exists(#key) OR (#ttl > :now_s AND #hits < :max)")
            .expression_attribute_names("#key", TABLE_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#hits", HITS)
            .expression_attribute_values(":ttl", n(ttl_secs(expires_at)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max))
            .expression_attribute_values(":now_s", now_secs(now))
            .send()
            .await;
        match added {
            Ok(_) => return Ok(true),
            Err(e) if is_condition_failure(&e) => {}
            Err(e) => return Err(unavailable(e)),
        }
        // Either at its limit or expired: only an expired counter can be restarted.
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
            Ok(_) => Ok(true),
            // Live, so at its limit (or restarted by another writer a moment ago, which costs
            // one refusal at a window's edge).
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
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
