//! The DynamoDB adapter. One table, partition key `token` (S), TTL on `ttl` (N, epoch seconds).
//! Two kinds of item share it: verifications, keyed by Infobip's token (a UUID), and parked
//! callbacks, keyed `parked#{secret hash}#{token}`; the two key spaces cannot meet, and a poll
//! only ever looks up a parsed UUID. Rate-limit counters (`limit#…`) and idempotency records
//! (`idem#…`) live beside them under their own prefixes.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use super::{Store, StoreError};
use crate::idempotency::{IdempotencyRecord, StoredResponse};
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::{ErrorInfo, ParkedCallback, State, Verification, VerificationResult};

pub const TABLE_KEY: &str = "token";
pub const TTL_ATTRIBUTE: &str = "ttl";

const STATUS: &str = "status";
const SECRET_HASH: &str = "secretHash";
const PHONE: &str = "phone";
const CREATED_AT: &str = "createdAt";
const PENDING_UNTIL: &str = "pendingUntil";
const COMPLETED_AT: &str = "completedAt";
const ERROR_ID: &str = "errorId";
const ERROR_NAME: &str = "errorName";
const ERROR_DESCRIPTION: &str = "errorDescription";
const PARKED_TOKEN: &str = "parkedToken";
const PENDING: &str = "PENDING";
const HITS: &str = "hits";
const FINGERPRINT: &str = "fingerprint";
const RESPONSE_STATUS: &str = "responseStatus";
const RESPONSE_TYPE: &str = "responseType";
const RESPONSE_LOCATION: &str = "responseLocation";
const RESPONSE_BODY: &str = "responseBody";

type Item = HashMap<String, AttributeValue>;

/// The HTTP client for AWS calls, built once per process. Trust is limited to the root CAs that
/// sign AWS endpoints (Amazon Root CA 1-4 and Starfield Services Root G2, as in Debian's
/// ca-certificates), compiled in: no certificate files are read at start-up, and an endpoint
/// presenting another CA's certificate is refused. Plain `http://` (a local DynamoDB) works too.
pub fn aws_http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(include_bytes!("aws-root-cas.pem").as_slice());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("the compiled-in root CAs are valid PEM");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// Every DynamoDB call here is one small item, answered in milliseconds; a call that takes longer
/// is stuck. Without limits the SDK would wait until Lambda kills the function, and the caller
/// (an app, or Infobip delivering a result) would get a bare 5xx from API Gateway instead of our
/// problem+json with Retry-After. Worst case per call: 3 attempts of 1 s inside a 2.5 s budget.
pub fn aws_timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_millis(2500))
        .build()
}

/// Throttling and 5xx are retried (3 attempts in all), starting at 20 ms instead of the SDK's
/// default 1 s so that retries fit inside [`aws_timeouts`].
pub fn aws_retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(20))
}

/// The variables [`client_from_env`] reads; Lambda sets them all (the credentials are the
/// execution role's), so `template.yaml` does not.
pub const AWS_VARIABLES: &[&str] = &[
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL",
];

/// The DynamoDB client of a Lambda function, from what Lambda puts in the environment: the
/// region, the execution role's credentials, and (for `sam local` or a local DynamoDB) an
/// endpoint. `aws-config`'s default chain would also look for profiles, SSO, web identity, ECS and
/// IMDS, none of which a Lambda function uses: building it cost init time and binary size.
pub fn client_from_env(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Client, crate::config::ConfigError> {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let required = |name: &'static str| {
        get(name).ok_or(crate::config::ConfigError {
            name,
            problem: "is not set (Lambda sets it; elsewhere set it for DynamoDB)".into(),
        })
    };
    let credentials = Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        get("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(required("AWS_REGION")?))
        .credentials_provider(credentials)
        .http_client(aws_http_client())
        .timeout_config(aws_timeouts())
        .retry_config(aws_retries());
    if let Some(endpoint) = get("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| get("AWS_ENDPOINT_URL")) {
        config = config.endpoint_url(endpoint);
    }
    Ok(Client::from_conf(config.build()))
}

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
}

impl DynamoDbStore {
    /// Creates the table as `template.yaml` declares it (key, on-demand billing, TTL). For local
    /// DynamoDB servers and tests; a deployed stack gets its table from the template.
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let invalid =
            |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
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
}

impl DynamoDbStore {
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

fn parked_key(secret_hash: &SecretHash, token: &Token) -> String {
    format!("parked#{}#{}", secret_hash.as_str(), token.as_str())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn ttl_secs(at: Timestamp) -> u64 {
    at.as_secs_ceil()
}

/// `ttl > floor(now in seconds)` holds exactly when `now < ttl * 1000`: the domain's rule.
fn now_secs(now: Timestamp) -> AttributeValue {
    n(now.as_millis() / 1000)
}

fn put_result(item: &mut Item, result: &VerificationResult) {
    let status = result.status().as_str();
    item.insert(STATUS.into(), s(status));
    if let Some(error) = result.error() {
        item.insert(ERROR_ID.into(), n(error.id));
        item.insert(ERROR_NAME.into(), s(&error.name));
        item.insert(ERROR_DESCRIPTION.into(), s(&error.description));
    }
}

fn verification_to_item(v: &Verification) -> Item {
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

fn get_s<'i>(item: &'i Item, name: &str) -> Result<&'i str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Corrupt(format!(
            "{name} is missing or not a string"
        ))),
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("{name} is out of range"))),
        _ => Err(StoreError::Corrupt(format!(
            "{name} is missing or not a number"
        ))),
    }
}

fn result_from_item(item: &Item) -> Result<Option<VerificationResult>, StoreError> {
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

fn secret_hash_from_item(item: &Item) -> Result<SecretHash, StoreError> {
    SecretHash::from_stored(get_s(item, SECRET_HASH)?.to_owned())
        .ok_or_else(|| StoreError::Corrupt("secretHash is not a SHA-256 hex digest".into()))
}

fn verification_from_item(item: &Item) -> Result<Verification, StoreError> {
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
        expires_at: Timestamp::from_millis(get_n::<u64>(item, TTL_ATTRIBUTE)?.saturating_mul(1000)),
        state,
    })
}

fn parked_from_item(item: &Item) -> Result<ParkedCallback, StoreError> {
    let token = Token::parse(get_s(item, PARKED_TOKEN)?)
        .map_err(|_| StoreError::Corrupt("parkedToken is not a UUID".into()))?;
    let result = result_from_item(item)?
        .ok_or_else(|| StoreError::Corrupt("a parked callback has no result".into()))?;
    Ok(ParkedCallback {
        token,
        secret_hash: secret_hash_from_item(item)?,
        result,
        received_at: Timestamp::from_millis(get_n(item, CREATED_AT)?),
        expires_at: Timestamp::from_millis(get_n::<u64>(item, TTL_ATTRIBUTE)?.saturating_mul(1000)),
    })
}

fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ConditionalCheck,
{
    error
        .as_service_error()
        .is_some_and(ConditionalCheck::is_conditional_check_failed)
}

/// The SDK gives each operation its own error type; this is the one question we ask all of them.
trait ConditionalCheck {
    fn is_conditional_check_failed(&self) -> bool;
}

macro_rules! conditional_check {
    ($($error:ty),*) => {$(
        impl ConditionalCheck for $error {
            fn is_conditional_check_failed(&self) -> bool {
                self.is_conditional_check_failed_exception()
            }
        }
    )*};
}

conditional_check!(
    aws_sdk_dynamodb::operation::put_item::PutItemError,
    aws_sdk_dynamodb::operation::update_item::UpdateItemError,
    aws_sdk_dynamodb::operation::delete_item::DeleteItemError
);

fn idempotency_record_from_item(item: &Item) -> Result<IdempotencyRecord, StoreError> {
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

fn unavailable<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(error).to_string())
}

#[async_trait]
impl Store for DynamoDbStore {
    async fn create(&self, verification: &Verification) -> Result<(), StoreError> {
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(verification_to_item(verification)))
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
                let verification = verification_from_item(&item)?;
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
            (":status".into(), s(result.status().as_str())),
        ]);
        let mut update = format!("SET #status = :status, {COMPLETED_AT} = :now_ms");
        if let Some(error) = result.error() {
            update.push_str(&format!(
                ", {ERROR_ID} = :error_id, {ERROR_NAME} = :error_name, {ERROR_DESCRIPTION} = :error_description"
            ));
            values.insert(":error_id".into(), n(error.id));
            values.insert(":error_name".into(), s(&error.name));
            values.insert(":error_description".into(), s(&error.description));
        }
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(token.as_str()))
            .update_expression(update)
            .condition_expression(format!(
                "#status = :pending AND {SECRET_HASH} = :hash AND {PENDING_UNTIL} > :now_ms AND #ttl > :now_s"
            ))
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match outcome {
            Ok(output) => match output.attributes {
                Some(item) => verification_from_item(&item).map(Some),
                None => Err(StoreError::Corrupt(
                    "UpdateItem returned no attributes".into(),
                )),
            },
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn park(&self, callback: &ParkedCallback) -> Result<(), StoreError> {
        let mut item = Item::from([
            (
                TABLE_KEY.into(),
                s(&parked_key(&callback.secret_hash, &callback.token)),
            ),
            (PARKED_TOKEN.into(), s(callback.token.as_str())),
            (SECRET_HASH.into(), s(callback.secret_hash.as_str())),
            (CREATED_AT.into(), n(callback.received_at.as_millis())),
            (TTL_ATTRIBUTE.into(), n(ttl_secs(callback.expires_at))),
        ]);
        put_result(&mut item, &callback.result);
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#key) OR #ttl <= :now_s")
            .expression_attribute_names("#key", TABLE_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now_s", now_secs(callback.received_at))
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(()),
            // The first callback for this secret and token is already kept: first result wins.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn find_parked(
        &self,
        secret_hash: &SecretHash,
        token: &Token,
        now: Timestamp,
    ) -> Result<Option<ParkedCallback>, StoreError> {
        match self.get_consistent(&parked_key(secret_hash, token)).await? {
            None => Ok(None),
            Some(item) => {
                let parked = parked_from_item(&item)?;
                Ok((now < parked.expires_at).then_some(parked))
            }
        }
    }

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
        Err(StoreError::Unavailable(format!(
            "counter {key} kept changing under concurrent writers"
        )))
    }

    async fn claim_idempotent(
        &self,
        key: &str,
        fingerprint: &str,
        lease_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let claimed = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(TABLE_KEY, s(key))
            .item(FINGERPRINT, s(fingerprint))
            .item(TTL_ATTRIBUTE, n(ttl_secs(lease_until)))
            .condition_expression("attribute_not_exists(#key) OR #ttl <= :now_s")
            .expression_attribute_names("#key", TABLE_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":now_s", now_secs(now))
            .send()
            .await;
        match claimed {
            Ok(_) => Ok(None),
            Err(e) if is_condition_failure(&e) => match self.get_consistent(key).await? {
                Some(item) => idempotency_record_from_item(&item).map(Some),
                // Released between our write and our read: the other request is still deciding.
                None => Ok(Some(IdempotencyRecord {
                    fingerprint: fingerprint.to_owned(),
                    response: None,
                })),
            },
            Err(e) => Err(unavailable(e)),
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
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::CallbackSecret;
    use crate::verification::Lifetimes;

    #[test]
    fn items_round_trip_in_every_state() {
        let now = Timestamp::from_millis(1_795_000_000_000);
        let lifetimes = Lifetimes {
            pending_timeout: Duration::from_secs(300),
            record_lifetime: Duration::from_secs(3600),
        };
        let token = Token::parse("123e4567-e89b-12d3-a456-426655440000").unwrap();
        let hash = CallbackSecret::generate().unwrap().hash();
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
            assert_eq!(
                verification_from_item(&verification_to_item(&v)).unwrap(),
                v
            );
        }
    }

    #[test]
    fn the_client_is_built_from_the_lambda_environment_and_names_what_is_missing() {
        let full = [
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ];
        let lookup = |vars: Vec<(&'static str, &'static str)>| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let client = client_from_env(lookup(full.to_vec())).unwrap();
        assert_eq!(
            client.config().region().map(|r| r.as_ref()),
            Some("eu-west-1")
        );
        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let vars = full
                .iter()
                .copied()
                .filter(|(n, _)| *n != missing)
                .collect();
            assert_eq!(client_from_env(lookup(vars)).unwrap_err().name, missing);
        }
    }

    #[test]
    fn the_compiled_in_root_cas_parse() {
        let pem = include_str!("aws-root-cas.pem");
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        drop(aws_http_client());
    }

    #[test]
    fn a_damaged_item_is_reported_not_guessed() {
        let item = Item::from([(TABLE_KEY.into(), s("123e4567-e89b-12d3-a456-426655440000"))]);
        assert!(matches!(
            verification_from_item(&item),
            Err(StoreError::Corrupt(_))
        ));
    }
}
