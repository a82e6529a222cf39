//! `Idempotency-Key` records, keyed `idem#…`.

use async_trait::async_trait;

use super::item::*;
use super::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
use crate::store::{IdempotencyRecord, IdempotencyRecords, StoreError, StoredResponse};
use crate::time::Timestamp;

const FINGERPRINT: &str = "fingerprint";
const RESPONSE_STATUS: &str = "responseStatus";
const RESPONSE_TYPE: &str = "responseType";
const RESPONSE_LOCATION: &str = "responseLocation";
const RESPONSE_BODY: &str = "responseBody";

fn from_item(item: &Item) -> Result<IdempotencyRecord, StoreError> {
    let response = match item.get(RESPONSE_STATUS) {
        None => None,
        Some(_) => Some(StoredResponse {
            status: get_n(item, RESPONSE_STATUS)?,
            content_type: get_s(item, RESPONSE_TYPE)?.to_owned(),
            location: match item.get(RESPONSE_LOCATION) {
                None => None,
                Some(_) => Some(get_s(item, RESPONSE_LOCATION)?.to_owned()),
            },
            body: get_s(item, RESPONSE_BODY)?.to_owned(),
        }),
    };
    Ok(IdempotencyRecord {
        fingerprint: get_s(item, FINGERPRINT)?.to_owned(),
        response,
    })
}

#[async_trait]
impl IdempotencyRecords for DynamoDbStore {
    async fn claim_idempotent(
        &self,
        key: &str,
        fingerprint: &str,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let claim = Item::from([
            (TABLE_KEY.into(), s(key)),
            (FINGERPRINT.into(), s(fingerprint)),
            (TTL_ATTRIBUTE.into(), n(ttl_secs(lease_until))),
        ]);
        if self.put_if_absent(claim, now).await? {
            return Ok(None);
        }
        match self.get_consistent(key).await? {
            Some(item) => from_item(&item).map(Some),
            // Released between our write and our read: the other request is still deciding.
            None => Ok(Some(IdempotencyRecord {
                fingerprint: fingerprint.to_owned(),
                response: None,
            })),
        }
    }

    async fn finish_idempotent(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut item = Item::from([
            (TABLE_KEY.into(), s(key)),
            (FINGERPRINT.into(), s(fingerprint)),
            (RESPONSE_STATUS.into(), n(response.status)),
            (RESPONSE_TYPE.into(), s(&response.content_type)),
            (RESPONSE_BODY.into(), s(&response.body)),
            (TTL_ATTRIBUTE.into(), n(ttl_secs(expires_at))),
        ]);
        if let Some(location) = &response.location {
            item.insert(RESPONSE_LOCATION.into(), s(location));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn release_idempotent(&self, key: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(key))
            .condition_expression("attribute_not_exists(#response)")
            .expression_attribute_names("#response", RESPONSE_STATUS)
            .send()
            .await;
        conditional(deleted, (), ())
    }
}
