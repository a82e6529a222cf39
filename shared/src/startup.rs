//! Building each function's context from its configuration: the adapters behind the ports
//! (DynamoDB, the Infobip client over HTTP, the system clock, metrics on stdout).

use std::sync::Arc;

use crate::app::{Backend, CallbackApp, PollApp, Runtime, StartApp};
use crate::assertion::kms::KmsSigner;
use crate::assertion::Signer;
use crate::aws::Account;
use crate::callback_secret::CallbackKey;
use crate::config::{CallbackConfig, CommonConfig, ConfigError, PollConfig, StartConfig};
use crate::infobip::{PinService, SimSwapClient, SmvClient, Transport, TwoFactorClient};
use crate::metrics::EmfStdout;
use crate::store::{DynamoDbStore, Store};
use crate::time::SystemClock;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("could not build the Infobip HTTP client")]
    HttpClient(#[from] reqwest::Error),
}

/// The region, role credentials and endpoints Lambda puts in the environment.
fn lambda_account() -> Result<Account, ConfigError> {
    Account::from_env(|name| std::env::var(name).ok())
}

impl Runtime {
    /// The system clock and metrics on stdout, as a Lambda function runs.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            metrics: Arc::new(EmfStdout::new()),
        }
    }

    /// For a Lambda function: the DynamoDB table `config` names, in `account`.
    fn lambda(config: &CommonConfig, account: &Account) -> Self {
        let table = DynamoDbStore::new(account.dynamodb(), config.table_name.clone());
        Self::new(Arc::new(table))
    }
}

impl StartApp {
    pub fn from_env() -> Result<Self, StartupError> {
        let config = StartConfig::from_env()?;
        let runtime = Runtime::lambda(&config.common, &lambda_account()?);
        Self::new(&config, &runtime)
    }

    /// With the Infobip client `config` describes.
    pub fn new(config: &StartConfig, runtime: &Runtime) -> Result<Self, StartupError> {
        let infobip = &config.infobip;
        let transport = Transport::new(
            &infobip.base_url,
            &infobip.api_key,
            infobip.connect_timeout,
            infobip.timeout,
        )?;
        let store = &runtime.store;
        let pins = config.twofa.as_ref().map(|ids| {
            Arc::new(TwoFactorClient::new(
                transport.clone(),
                ids.application_id.clone(),
                ids.message_id.clone(),
            )) as Arc<dyn PinService>
        });
        Ok(Self {
            fallback: config.fallback.clone(),
            pins,
            sim_swaps: Arc::new(SimSwapClient::new(transport.clone())),
            verifications: store.clone(),
            parked: store.clone(),
            counters: store.clone(),
            idempotency: store.clone(),
            infobip: Arc::new(SmvClient::new(transport)),
            clock: runtime.clock.clone(),
            metrics: runtime.metrics.clone(),
            lifetimes: config.common.lifetimes,
            callback_base_url: config.callback_base_url.clone(),
            address_policy: config.address_policy.clone(),
            rate_limits: config.rate_limits,
            phone_hash_key: config.phone_hash_key.clone(),
            callback_key: config.callback_key.clone(),
            allowed_origins: config.allowed_origins.clone(),
            demo_app_routes: config.demo_app_routes,
        })
    }
}

impl CallbackApp {
    pub fn from_env() -> Result<Self, StartupError> {
        let config = CallbackConfig::from_env()?;
        let runtime = Runtime::lambda(&config.common, &lambda_account()?);
        Ok(Self::new(&config.common, &config.callback_key, &runtime))
    }

    pub fn new(config: &CommonConfig, callback_key: &CallbackKey, runtime: &Runtime) -> Self {
        Self {
            verifications: runtime.store.clone(),
            parked: runtime.store.clone(),
            clock: runtime.clock.clone(),
            metrics: runtime.metrics.clone(),
            lifetimes: config.lifetimes,
            callback_key: callback_key.clone(),
        }
    }
}

impl PollApp {
    /// Signs with the KMS key `ASSERTION_KEY_ID` names.
    pub fn from_env() -> Result<Self, StartupError> {
        let config = PollConfig::from_env()?;
        let account = lambda_account()?;
        let key_id = config.assertions.key_id.clone().ok_or(ConfigError {
            name: "ASSERTION_KEY_ID",
            problem: "is not set (the ARN of the KMS key that signs assertions)".into(),
        })?;
        let signer = KmsSigner::new(
            account.kms(),
            key_id,
            config.assertions.published_key_ids.clone(),
        );
        let runtime = Runtime::lambda(&config.common, &account);
        Ok(Self::new(&config, &runtime, Arc::new(signer)))
    }

    pub fn new(config: &PollConfig, runtime: &Runtime, signer: Arc<dyn Signer>) -> Self {
        Self {
            verifications: runtime.store.clone(),
            parked: runtime.store.clone(),
            returns: runtime.store.clone(),
            clock: runtime.clock.clone(),
            metrics: runtime.metrics.clone(),
            lifetimes: config.common.lifetimes,
            phone_hash_key: config.phone_hash_key.clone(),
            signer,
            assertions: config.assertions.policy.clone(),
            demo_app_routes: config.demo_app_routes,
            web_page: config.web_page,
            fallback: config.fallback.clone(),
        }
    }
}

impl Backend {
    pub fn new(
        start: &StartConfig,
        poll: &PollConfig,
        runtime: &Runtime,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, StartupError> {
        Ok(Self {
            start: StartApp::new(start, runtime)?,
            callback: CallbackApp::new(&start.common, &start.callback_key, runtime),
            poll: PollApp::new(poll, runtime, signer),
        })
    }
}
