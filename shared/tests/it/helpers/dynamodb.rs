//! Tables, signing keys and secrets on the AWS-protocol server `scripts/test` starts (moto).

use std::sync::Arc;

/// A fresh table on the DynamoDB-protocol server `scripts/test` starts (moto), with the
/// product's key schema and TTL.
pub async fn dynamodb_store() -> Arc<smv_shared::store::DynamoDbStore> {
    dynamodb_store_at(&test_dynamodb_endpoint()).await
}

/// The DynamoDB-protocol server `scripts/test` started.
pub fn test_dynamodb_endpoint() -> String {
    std::env::var("SMV_TEST_DYNAMODB_ENDPOINT").expect(
        "SMV_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test, which starts a DynamoDB server (moto) for these tests",
    )
}

/// A fresh table reached through `endpoint`, with the product's client settings.
pub async fn dynamodb_store_at(endpoint: &str) -> Arc<smv_shared::store::DynamoDbStore> {
    dynamodb_store_on(endpoint, &dynamodb_table_at(endpoint).await)
}

/// Creates a fresh table through `endpoint` and returns its name.
pub async fn dynamodb_table_at(endpoint: &str) -> String {
    let table = format!("smv-test-{}", uuid::Uuid::new_v4());
    smv_shared::store::DynamoDbStore::create_table(&dynamodb_client(endpoint), &table)
        .await
        .unwrap();
    table
}

/// An existing table reached through `endpoint`, with the product's client settings.
pub fn dynamodb_store_on(endpoint: &str, table: &str) -> Arc<smv_shared::store::DynamoDbStore> {
    Arc::new(smv_shared::store::DynamoDbStore::new(
        dynamodb_client(endpoint),
        table,
    ))
}

fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    smv_shared::aws::Account::local(endpoint).dynamodb()
}

/// A new signing key in the test server's KMS (moto); its ARN.
pub async fn kms_key(endpoint: &str) -> String {
    smv_shared::aws::Account::local(endpoint)
        .create_assertion_key()
        .await
        .unwrap()
}

/// Every item of `table` on the server at `endpoint`.
pub async fn scan_table(
    endpoint: &str,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    smv_shared::aws::Account::local(endpoint)
        .dynamodb()
        .scan()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

/// A new secret holding `value` in the test server's Secrets Manager (moto); its ARN.
pub async fn secret(endpoint: &str, value: &str) -> String {
    smv_shared::aws::Account::local(endpoint)
        .secrets_manager()
        .create_secret()
        .name(format!("smv-test-{}", uuid::Uuid::new_v4()))
        .secret_string(value)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

/// A rotation: `value` becomes the secret's AWSCURRENT, the one before it AWSPREVIOUS.
pub async fn rotate(endpoint: &str, arn: &str, value: &str) {
    smv_shared::aws::Account::local(endpoint)
        .secrets_manager()
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .unwrap();
}

/// Every key the functions use, in fresh secrets holding the test keys: the settings that name
/// them (and blank out the keys given as text), reading through `reach` (moto or a proxy to it).
pub async fn keys_in_secrets_manager(endpoint: &str, reach: &str) -> Vec<(String, String)> {
    use super::app::{API_KEY, CALLBACK_SECRET_KEY, PHONE_HASH_KEY, RETURN_KEY};
    let mut env = vec![(
        "AWS_ENDPOINT_URL_SECRETS_MANAGER".to_owned(),
        reach.to_owned(),
    )];
    for (name, value) in [
        ("INFOBIP_API_KEY", API_KEY),
        ("PHONE_HASH_KEY", PHONE_HASH_KEY),
        ("CALLBACK_SECRET_KEY", CALLBACK_SECRET_KEY),
        ("RETURN_KEY", RETURN_KEY),
    ] {
        env.push((name.to_owned(), String::new()));
        env.push((format!("{name}_SECRET_ARN"), secret(endpoint, value).await));
    }
    env
}
