//! Verifications, keyed by Infobip's token (a UUID): the conditional writes that state the
//! domain's transitions for DynamoDB. The item's shape is `verification_item`'s.

use async_trait::async_trait;

use super::item::*;
use super::verification_item::*;
use super::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
use crate::store::{StoreError, Verifications};
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::{Verification, VerificationResult, MAX_REDEEM_FAILURES};

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld;

#[async_trait]
impl Verifications for DynamoDbStore {
    async fn create(&self, verification: &Verification) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", TABLE_KEY);
        match self.put_once(put, to_item(verification)).await? {
            true => Ok(()),
            false => Err(StoreError::AlreadyExists),
        }
    }

    async fn find(
        &self,
        token: &Token,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError> {
        match self.get_consistent(token.as_str()).await? {
            None => Ok(None),
            Some(item) => {
                let verification = from_item(&item)?;
                // TTL deletion is lazy: an expired item can be read for days after its TTL.
                Ok(verification.exists_at(now).then_some(verification))
            }
        }
    }

    async fn complete(
        &self,
        token: &Token,
        secret_hash: &SecretHash,
        result: &VerificationResult,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError> {
        // The condition is Verification::accepts_result_from, stated for DynamoDB.
        let mut values = Item::from([
            (":pending".into(), s(PENDING)),
            (":hash".into(), s(secret_hash.as_str())),
            (":now_ms".into(), n(now.as_millis())),
            (":now_s".into(), now_secs(now)),
        ]);
        values.insert(":one".into(), n(1));
        let write_id = write_id()?;
        values.insert(":write_id".into(), s(&write_id));
        let mut update = format!("SET {COMPLETED_AT} = :now_ms, {WRITE_ID} = :write_id");
        let mut names = std::collections::HashMap::from([
            ("#ttl".to_owned(), TTL_ATTRIBUTE.to_owned()),
            ("#version".to_owned(), VERSION.to_owned()),
        ]);
        for (name, value) in result_attributes(result) {
            update.push_str(&format!(", #{name} = :{name}"));
            values.insert(format!(":{name}"), value);
            names.insert(format!("#{name}"), name.to_owned());
        }
        update.push_str(" ADD #version :one");
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(token.as_str()))
            .update_expression(update)
            .condition_expression(format!(
                "#{STATUS} = :pending AND {SECRET_HASH} = :hash AND {PENDING_UNTIL} > :now_ms AND #ttl > :now_s"
            ))
            .set_expression_attribute_names(Some(names));
        let outcome = request
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .return_values_on_condition_check_failure(AllOld)
            .send()
            .await;
        match written_once(outcome, &write_id)? {
            Written::Now(output) => match output.attributes {
                Some(item) => from_item(&item).map(Some),
                None => Err(StoreError::Corrupt(
                    "UpdateItem returned no attributes".into(),
                )),
            },
            // What our own lost attempt wrote is what it would have returned.
            Written::Earlier(item) => from_item(&item).map(Some),
            Written::Refused => Ok(None),
        }
    }

    async fn redeem(&self, token: &Token, now: Timestamp) -> Result<bool, StoreError> {
        // The condition is Verification::accepts_redemption, stated for DynamoDB.
        let write_id = write_id()?;
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(token.as_str()))
            .update_expression(format!(
                "SET {REDEEMED_AT} = :now_ms, {WRITE_ID} = :write_id ADD #version :one"
            ))
            .condition_expression(format!(
                "#status = :valid AND attribute_exists({CODE_CHALLENGE}) \
                 AND attribute_not_exists({REDEEMED_AT}) \
                 AND (attribute_not_exists({REDEEM_FAILURES}) OR {REDEEM_FAILURES} < :max) \
                 AND #ttl > :now_s"
            ))
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":valid", s(VALID))
            .expression_attribute_values(":max", n(MAX_REDEEM_FAILURES))
            .expression_attribute_values(":now_ms", n(now.as_millis()))
            .expression_attribute_values(":now_s", now_secs(now))
            .expression_attribute_values(":write_id", s(&write_id))
            .return_values_on_condition_check_failure(AllOld)
            .send()
            .await;
        Ok(!matches!(
            written_once(outcome, &write_id)?,
            Written::Refused
        ))
    }

    async fn fail_redemption(&self, token: &Token, now: Timestamp) -> Result<(), StoreError> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(token.as_str()))
            .update_expression(format!("ADD {REDEEM_FAILURES} :one, #version :one"))
            .condition_expression(format!(
                "attribute_exists(#key) AND attribute_not_exists({REDEEMED_AT}) AND #ttl > :now_s"
            ))
            .expression_attribute_names("#key", TABLE_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now_s", now_secs(now))
            .send()
            .await;
        conditional(outcome, (), ())
    }

    async fn replace(&self, read_version: u64, next: &Verification) -> Result<bool, StoreError> {
        let next = Verification {
            version: read_version + 1,
            ..next.clone()
        };
        // An item written before versions existed has none: it is at version 0.
        let condition = match read_version {
            0 => "attribute_exists(#key) AND (attribute_not_exists(#version) OR #version = :read)",
            _ => "#version = :read",
        };
        let mut request = self
            .client
            .put_item()
            .condition_expression(condition)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":read", n(read_version));
        if read_version == 0 {
            request = request.expression_attribute_names("#key", TABLE_KEY);
        }
        self.put_once(request, to_item(&next)).await
    }
}
