//! The one place AWS clients are built (DynamoDB, KMS for the assertion key, Secrets Manager for
//! our keys): the Lambda
//! functions (from the environment Lambda sets), the local server, the tests and the benchmark
//! all get the same HTTP client, timeouts and retries.

use std::time::Duration;

use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider, SharedHttpClient};

use crate::config::ConfigError;

/// One SDK's client, configured as every AWS client here is: `account`'s region and credentials,
/// our HTTP client, timeouts and retries, and the endpoint when one is given. A macro because each
/// SDK crate has its own `Config` type.
macro_rules! client {
    ($sdk:ident, $account:ident . $endpoint:ident) => {{
        let mut config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($account.region.clone())
            .credentials_provider($account.credentials.clone())
            .http_client(http_client())
            .timeout_config(timeouts())
            .retry_config(retries());
        if let Some(endpoint) = &$account.$endpoint {
            config = config.endpoint_url(endpoint);
        }
        $sdk::Client::from_conf(config.build())
    }};
}

/// Where and as whom to call AWS: a region, credentials, and an endpoint per service when one is
/// given (a local DynamoDB, moto).
#[derive(Debug, Clone)]
pub struct Account {
    pub region: Region,
    pub credentials: SharedCredentialsProvider,
    pub dynamodb_endpoint: Option<String>,
    pub kms_endpoint: Option<String>,
    pub secrets_endpoint: Option<String>,
}

impl Account {
    /// From what Lambda puts in the environment: the region, the execution role's credentials,
    /// and (for `sam local` or a local server) endpoints. `aws-config`'s default chain would also
    /// look for profiles, SSO, web identity, ECS and IMDS, none of which a Lambda function uses:
    /// building it cost init time and binary size.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| {
            get(name).ok_or(ConfigError {
                name,
                problem: "is not set (Lambda sets it; elsewhere set it for AWS)".into(),
            })
        };
        let credentials = Credentials::new(
            required("AWS_ACCESS_KEY_ID")?,
            required("AWS_SECRET_ACCESS_KEY")?,
            get("AWS_SESSION_TOKEN"),
            None,
            "lambda-environment",
        );
        Ok(Self {
            region: Region::new(required("AWS_REGION")?),
            credentials: SharedCredentialsProvider::new(credentials),
            dynamodb_endpoint: get("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| get("AWS_ENDPOINT_URL")),
            kms_endpoint: get("AWS_ENDPOINT_URL_KMS").or_else(|| get("AWS_ENDPOINT_URL")),
            secrets_endpoint: get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
                .or_else(|| get("AWS_ENDPOINT_URL")),
        })
    }

    /// A local server for every service (moto in the tests), with fixed credentials.
    pub fn local(endpoint: &str) -> Self {
        let credentials = Credentials::new("local", "local", None, None, "local");
        Self {
            region: Region::new("eu-west-1"),
            credentials: SharedCredentialsProvider::new(credentials),
            dynamodb_endpoint: Some(endpoint.to_owned()),
            kms_endpoint: Some(endpoint.to_owned()),
            secrets_endpoint: Some(endpoint.to_owned()),
        }
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        client!(aws_sdk_dynamodb, self.dynamodb_endpoint)
    }

    /// Creates an ES256 signing key (`ECC_NIST_P256`, `SIGN_VERIFY`) as the template's
    /// `AssertionKey` is, and returns its ARN. For a local KMS (moto) and the tests; a deployed
    /// stack gets its key from the template.
    pub async fn create_assertion_key(
        &self,
    ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        use aws_sdk_kms::types::{KeySpec, KeyUsageType};
        let created = self
            .kms()
            .create_key()
            .key_spec(KeySpec::EccNistP256)
            .key_usage(KeyUsageType::SignVerify)
            .send()
            .await?;
        created
            .key_metadata
            .and_then(|m| m.arn)
            .ok_or_else(|| "CreateKey returned no ARN".into())
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        client!(aws_sdk_kms, self.kms_endpoint)
    }

    pub fn secrets_manager(&self) -> aws_sdk_secretsmanager::Client {
        client!(aws_sdk_secretsmanager, self.secrets_endpoint)
    }
}

/// The HTTP client for AWS calls. Trust is limited to the root CAs that sign AWS endpoints
/// (Amazon Root CA 1-4 and Starfield Services Root G2, as in Debian's ca-certificates), compiled
/// in: no certificate files are read at start-up, and an endpoint presenting another CA's
/// certificate is refused. Plain `http://` (a local DynamoDB) works too.
pub fn http_client() -> SharedHttpClient {
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

/// Every AWS call here is one small item or one signature, answered in milliseconds; a call that
/// takes longer is stuck. Without limits the SDK would wait until Lambda kills the function, and the caller
/// (an app, or Infobip delivering a result) would get a bare 5xx from API Gateway instead of our
/// problem+json with Retry-After. Worst case per call: 3 attempts of 1 s inside a 2.5 s budget.
fn timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .operation_attempt_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_millis(2500))
        .build()
}

/// Throttling and 5xx are retried (3 attempts in all), starting at 20 ms instead of the SDK's
/// default 1 s so that retries fit inside [`timeouts`].
fn retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(20))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let account = Account::from_env(lookup(full.to_vec())).unwrap();
        assert_eq!(
            account.dynamodb().config().region().map(|r| r.as_ref()),
            Some("eu-west-1")
        );
        assert_eq!(
            account.kms().config().region().map(|r| r.as_ref()),
            Some("eu-west-1")
        );
        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let vars = full
                .iter()
                .copied()
                .filter(|(n, _)| *n != missing)
                .collect();
            assert_eq!(Account::from_env(lookup(vars)).unwrap_err().name, missing);
        }
    }

    #[test]
    fn the_compiled_in_root_cas_parse() {
        let pem = include_str!("aws-root-cas.pem");
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        drop(http_client());
    }
}
