//! The one place a DynamoDB client is built: the Lambda functions (from the environment Lambda
//! sets), the local server, the tests and the benchmark all get the same HTTP client, timeouts
//! and retries.

use std::time::Duration;

use aws_sdk_dynamodb::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider, SharedHttpClient,
};
use aws_sdk_dynamodb::Client;

use crate::config::ConfigError;

/// A client for `region` with `credentials`, at `endpoint` when one is given (a local DynamoDB).
pub fn client(
    region: Region,
    credentials: SharedCredentialsProvider,
    endpoint: Option<&str>,
) -> Client {
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(credentials)
        .http_client(http_client())
        .timeout_config(timeouts())
        .retry_config(retries());
    if let Some(endpoint) = endpoint {
        config = config.endpoint_url(endpoint);
    }
    Client::from_conf(config.build())
}

/// A client for a local DynamoDB-protocol server (moto in the tests), with fixed credentials.
pub fn for_local_endpoint(endpoint: &str) -> Client {
    let credentials = Credentials::new("local", "local", None, None, "local");
    client(
        Region::new("eu-west-1"),
        SharedCredentialsProvider::new(credentials),
        Some(endpoint),
    )
}

/// The client of a Lambda function, from what Lambda puts in the environment: the region, the
/// execution role's credentials, and (for `sam local` or a local DynamoDB) an endpoint.
/// `aws-config`'s default chain would also look for profiles, SSO, web identity, ECS and IMDS,
/// none of which a Lambda function uses: building it cost init time and binary size.
pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Client, ConfigError> {
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let required = |name: &'static str| {
        get(name).ok_or(ConfigError {
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
    let endpoint = get("AWS_ENDPOINT_URL_DYNAMODB").or_else(|| get("AWS_ENDPOINT_URL"));
    Ok(client(
        Region::new(required("AWS_REGION")?),
        SharedCredentialsProvider::new(credentials),
        endpoint.as_deref(),
    ))
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

/// Every DynamoDB call here is one small item, answered in milliseconds; a call that takes longer
/// is stuck. Without limits the SDK would wait until Lambda kills the function, and the caller
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
        let client = from_env(lookup(full.to_vec())).unwrap();
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
            assert_eq!(from_env(lookup(vars)).unwrap_err().name, missing);
        }
    }

    #[test]
    fn the_compiled_in_root_cas_parse() {
        let pem = include_str!("aws-root-cas.pem");
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        drop(http_client());
    }
}
