//! Verifications, keyed by Infobip's token (a UUID).

use async_trait::async_trait;

use super::item::*;
use super::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
use crate::store::{StoreError, Verifications};
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::{State, Verification, VerificationResult};

const PHONE: &str = "phone";
const PENDING_UNTIL: &str = "pendingUntil";
const COMPLETED_AT: &str = "completedAt";

fn to_item(v: &Verification) -> Item {
    let mut item = Item::from([
        (TABLE_KEY.into(), s(v.token.as_str())),
        (SECRET_HASH.into(), s(v.secret_hash.as_str())),
        (PHONE.into(), s(&v.phone_masked)),
        (CREATED_AT.into(), n(v.created_at.as_millis())),
        (PENDING_UNTIL.into(), n(v.pending_until.as_millis())),
        (TTL_ATTRIBUTE.into(), n(ttl_secs(v.expires_at))),
    ]);
    match &v.state {
        State::Pending => {
            item.insert(STATUS.into(), s(PENDING));
        }
        State::Completed { result, at } => {
            put_result(&mut item, result);
            item.insert(COMPLETED_AT.into(), n(at.as_millis()));
        }
    }
    item
}

fn from_item(item: &Item) -> Result<Verification, StoreError> {
    let token = Token::parse(get_s(item, TABLE_KEY)?)
        .map_err(|_| StoreError::Corrupt("token is not a UUID".into()))?;
    let state = match result_from_item(item)? {
        None => State::Pending,
        Some(result) => State::Completed {
            result,
            at: Timestamp::from_millis(get_n(item, COMPLETED_AT)?),
        },
    };
    Ok(Verification {
        token,
        secret_hash: secret_hash_from_item(item)?,
        phone_masked: get_s(item, PHONE)?.to_owned(),
        created_at: Timestamp::from_millis(get_n(item, CREATED_AT)?),
        pending_until: Timestamp::from_millis(get_n(item, PENDING_UNTIL)?),
        expires_at: get_timestamp_secs(item, TTL_ATTRIBUTE)?,
        state,
    })
}

#[async_trait]
impl Verifications for DynamoDbStore {
    async fn create(&self, verification: &Verification) -> Result<(), StoreError> {
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(verification)))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", TABLE_KEY)
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::AlreadyExists),
            Err(e) => Err(unavailable(e)),
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
        let mut update = format!("SET {COMPLETED_AT} = :now_ms");
        let mut names =
            std::collections::HashMap::from([("#ttl".to_owned(), TTL_ATTRIBUTE.to_owned())]);
        for (name, value) in result_attributes(result) {
            update.push_str(&format!(", #{name} = :{name}"));
            values.insert(format!(":{name}"), value);
            names.insert(format!("#{name}"), name.to_owned());
        }
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
            .send()
            .await;
        match outcome {
            Ok(output) => match output.attributes {
                Some(item) => from_item(&item).map(Some),
                None => Err(StoreError::Corrupt(
                    "UpdateItem returned no attributes".into(),
                )),
            },
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::token::UrlSecret;
    use crate::verification::{ErrorInfo, Lifetimes};

    #[test]
    fn items_round_trip_in_every_state() {
        let now = Timestamp::from_millis(1_795_000_000_000);
        let lifetimes = Lifetimes {
            pending_timeout: Duration::from_secs(300),
            record_lifetime: Duration::from_secs(3600),
        };
        let token = Token::parse("123e4567-e89b-12d3-a456-426655440000").unwrap();
        let hash = UrlSecret::generate().unwrap().hash();
        let pending = Verification::pending(
            token.clone(),
            hash.clone(),
            "+44*******456".into(),
            now,
            lifetimes,
        );
        let error = ErrorInfo {
            id: 306,
            name: "EC_REJECTED_INVALID_IP_ADDRESS".into(),
            description: "IP address not in MNO data range.".into(),
        };
        let refused =
            Verification::refused(token, hash, "+44*******456".into(), error, now, lifetimes);
        for v in [pending, refused] {
            assert_eq!(from_item(&to_item(&v)).unwrap(), v);
        }
    }

    #[test]
    fn a_damaged_item_is_reported_not_guessed() {
        let item = Item::from([(TABLE_KEY.into(), s("123e4567-e89b-12d3-a456-426655440000"))]);
        assert!(matches!(from_item(&item), Err(StoreError::Corrupt(_))));
    }
}
