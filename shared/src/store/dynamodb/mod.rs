//! The DynamoDB adapter of every store port. One table, partition key `token` (S), TTL on `ttl`
//! (N, epoch seconds); each port keeps its items under its own keys (see each module), so the key
//! spaces cannot meet and a poll only ever looks up a parsed UUID.

mod counters;
mod idempotency;
mod item;
mod parked;
mod returns;
mod verification_item;
mod verifications;

use aws_sdk_dynamodb::Client;

use super::StoreError;
use crate::time::Timestamp;
use item::{now_secs, s, unavailable, Item};

pub const TABLE_KEY: &str = "token";
pub const TTL_ATTRIBUTE: &str = "ttl";

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table as `template.yaml` declares it (key, on-demand billing, TTL). For local
    /// DynamoDB servers and tests; a deployed stack gets its table from the template.
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let invalid = StoreError::unavailable;
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(TABLE_KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(invalid)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(TABLE_KEY)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(invalid)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .map_err(invalid)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Writes `item` unless a live item (TTL not reached at `now`) has its key: `true` if it was
    /// written. An expired item that DynamoDB has not deleted yet (TTL deletion is lazy) counts
    /// as absent, as everywhere in this adapter.
    async fn put_if_absent(&self, item: Item, now: Timestamp) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .condition_expression("attribute_not_exists(#key) OR #ttl <= :now_s")
            .expression_attribute_names("#key", TABLE_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now_s", now_secs(now));
        self.put_once(put, item).await
    }

    /// Sends a conditional `PutItem` of a new item: `true` if this call wrote it. Safe under the
    /// SDK's retries: when an attempt landed but its answer was lost (an attempt timeout), the
    /// retry finds the item and its condition fails. The item carries this write's random id,
    /// and the refusal returns the item it met, so a refusal by our own earlier attempt is
    /// recognised as the write it is (without it, a device would be told its code was already
    /// shown, an app that its own start was in progress).
    async fn put_once(
        &self,
        put: aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder,
        mut item: Item,
    ) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld;
        let write_id = item::write_id()?;
        item.insert(item::WRITE_ID.into(), s(&write_id));
        let outcome = put
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values_on_condition_check_failure(AllOld)
            .send()
            .await;
        Ok(!matches!(
            item::written_once(outcome, &write_id)?,
            item::Written::Refused
        ))
    }

    /// Strongly consistent: a poll right after a callback must see the callback's write.
    async fn get_consistent(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }
}
