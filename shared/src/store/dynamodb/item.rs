//! Attribute values in and out of DynamoDB items, and the SDK errors every adapter asks about.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::StoreError;
use crate::time::Timestamp;
use crate::token::SecretHash;
use crate::verification::{ErrorInfo, VerificationResult};

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) const STATUS: &str = "status";
pub(super) const SECRET_HASH: &str = "secretHash";
pub(super) const CREATED_AT: &str = "createdAt";
pub(super) const PENDING: &str = "PENDING";
const ERROR_ID: &str = "errorId";
const ERROR_NAME: &str = "errorName";
const ERROR_DESCRIPTION: &str = "errorDescription";

pub(super) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn ttl_secs(at: Timestamp) -> u64 {
    at.as_secs_ceil()
}

/// `ttl > floor(now in seconds)` holds exactly when `now < ttl * 1000`: the domain's rule.
pub(super) fn now_secs(now: Timestamp) -> AttributeValue {
    n(now.as_millis() / 1000)
}

pub(super) fn get_s<'i>(item: &'i Item, name: &str) -> Result<&'i str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Corrupt(format!(
            "{name} is missing or not a string"
        ))),
    }
}

pub(super) fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{name} is out of range"))),
        _ => Err(StoreError::Corrupt(format!(
            "{name} is missing or not a number"
        ))),
    }
}

pub(super) fn get_timestamp_secs(item: &Item, name: &str) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_millis(
        get_n::<u64>(item, name)?.saturating_mul(1000),
    ))
}

/// The attributes that record `result`, by name.
pub(super) fn result_attributes(
    result: &VerificationResult,
) -> Vec<(&'static str, AttributeValue)> {
    let mut attributes = vec![(STATUS, s(result.status().as_str()))];
    if let Some(error) = result.error() {
        attributes.push((ERROR_ID, n(error.id)));
        attributes.push((ERROR_NAME, s(&error.name)));
        attributes.push((ERROR_DESCRIPTION, s(&error.description)));
    }
    attributes
}

pub(super) fn put_result(item: &mut Item, result: &VerificationResult) {
    for (name, value) in result_attributes(result) {
        item.insert(name.into(), value);
    }
}

pub(super) fn result_from_item(item: &Item) -> Result<Option<VerificationResult>, StoreError> {
    let result = match get_s(item, STATUS)? {
        PENDING => return Ok(None),
        "VALID" => VerificationResult::Valid,
        "INVALID" => VerificationResult::Invalid,
        "ERROR" => VerificationResult::Error(match item.get(ERROR_ID) {
            None => None,
            Some(_) => Some(ErrorInfo {
                id: get_n(item, ERROR_ID)?,
                name: get_s(item, ERROR_NAME)?.to_owned(),
                description: get_s(item, ERROR_DESCRIPTION)?.to_owned(),
            }),
        }),
        other => return Err(StoreError::Corrupt(format!("unknown status {other:?}"))),
    };
    Ok(Some(result))
}

pub(super) fn secret_hash_from_item(item: &Item) -> Result<SecretHash, StoreError> {
    SecretHash::from_stored(get_s(item, SECRET_HASH)?.to_owned())
        .ok_or_else(|| StoreError::Corrupt("secretHash is not a SHA-256 hex digest".into()))
}

/// The attribute naming the write that last created or moved an item (see [`written_once`]).
pub(super) const WRITE_ID: &str = "writeId";

/// A new write's id: 128 random bits, hex.
pub(super) fn write_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::unavailable(format!("no randomness for a write id: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub(super) fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ConditionalCheck,
{
    error
        .as_service_error()
        .is_some_and(ConditionalCheck::is_conditional_check_failed)
}

/// The SDK gives each operation its own error type; these are the questions we ask all of them.
pub(super) trait ConditionalCheck {
    fn is_conditional_check_failed(&self) -> bool;
    /// The item a refused write met, when it asked for it (`ReturnValuesOnConditionCheckFailure`).
    fn item_met(&self) -> Option<&Item>;
}

macro_rules! conditional_check {
    ($($error:ty),*) => {$(
        impl ConditionalCheck for $error {
            fn is_conditional_check_failed(&self) -> bool {
                self.is_conditional_check_failed_exception()
            }
            fn item_met(&self) -> Option<&Item> {
                match self {
                    Self::ConditionalCheckFailedException(refused) => refused.item.as_ref(),
                    _ => None,
                }
            }
        }
    )*};
}

conditional_check!(
    aws_sdk_dynamodb::operation::put_item::PutItemError,
    aws_sdk_dynamodb::operation::update_item::UpdateItemError,
    aws_sdk_dynamodb::operation::delete_item::DeleteItemError
);

/// What a conditional write did: `applied`, or `refused` when its condition did not hold; any
/// other failure is the store being unavailable.
pub(super) fn conditional<O, E, R, T>(
    outcome: Result<O, SdkError<E, R>>,
    applied: T,
    refused: T,
) -> Result<T, StoreError>
where
    E: ConditionalCheck + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match outcome {
        Ok(_) => Ok(applied),
        Err(e) if is_condition_failure(&e) => Ok(refused),
        Err(e) => Err(unavailable(e)),
    }
}

pub(super) fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::unavailable(error)
}

/// What a conditional write that carries a write id ([`WRITE_ID`]) did.
pub(super) enum Written<O> {
    /// This attempt wrote it.
    Now(O),
    /// The condition failed on what an earlier attempt of this same write left (its answer was
    /// lost and the SDK retried): written, and this is the item as it stands.
    Earlier(Item),
    /// The condition did not hold.
    Refused,
}

/// Reads the outcome of a conditional write that set [`WRITE_ID`] to `write_id` and asked for
/// the item it met when refused: an SDK retry of a write that landed is refused by the write
/// itself, and must count as written.
pub(super) fn written_once<O, E, R>(
    outcome: Result<O, SdkError<E, R>>,
    write_id: &str,
) -> Result<Written<O>, StoreError>
where
    E: ConditionalCheck + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let error = match outcome {
        Ok(output) => return Ok(Written::Now(output)),
        Err(e) => e,
    };
    let Some(refused) = error
        .as_service_error()
        .filter(|e| e.is_conditional_check_failed())
    else {
        return Err(unavailable(error));
    };
    let ours = refused.item_met().filter(|item| {
        item.get(WRITE_ID)
            .and_then(|id| id.as_s().ok())
            .is_some_and(|id| id == write_id)
    });
    Ok(match ours {
        Some(item) => Written::Earlier(item.clone()),
        None => Written::Refused,
    })
}
