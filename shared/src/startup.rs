//! Building each function's context from its configuration: the adapters behind the ports
//! (DynamoDB, the Infobip client over HTTP, the system clock, metrics on stdout).

use std::sync::Arc;

use crate::app::{Backend, CallbackApp, PollApp, Runtime, StartApp};
use crate::config::{CommonConfig, StartConfig};
use crate::infobip::{SmvClient, Transport};
use crate::metrics::EmfStdout;
use crate::aws::Account;
use crate::store::{DynamoDbStore, Store};
use crate::time::SystemClock;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("could not build the Infobip HTTP client")]
    HttpClient(#[from] reqwest::Error),
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

    /// For a Lambda function: the DynamoDB table `config` names, reached as the environment says.
    fn from_env(config: &CommonConfig) -> Result<Self, StartupError> {
        let client = Account::from_env(|name| std::env::var(name).ok())?.dynamodb();
        let table = DynamoDbStore::new(client, config.table_name.clone());
        Ok(Self::new(Arc::new(table)))
    }
}

impl StartApp {
    pub fn from_env() -> Result<Self, StartupError> {
        let config = StartConfig::from_env()?;
        let runtime = Runtime::from_env(&config.common)?;
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
        Ok(Self {
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
        })
    }
}

impl CallbackApp {
    pub fn from_env() -> Result<Self, StartupError> {
        let config = CommonConfig::from_env()?;
        Ok(Self::new(&config, &Runtime::from_env(&config)?))
    }

    pub fn new(config: &CommonConfig, runtime: &Runtime) -> Self {
        Self {
            verifications: runtime.store.clone(),
            parked: runtime.store.clone(),
            clock: runtime.clock.clone(),
            metrics: runtime.metrics.clone(),
            lifetimes: config.lifetimes,
        }
    }
}

impl PollApp {
    pub fn from_env() -> Result<Self, StartupError> {
        let config = CommonConfig::from_env()?;
        Ok(Self::new(&Runtime::from_env(&config)?))
    }

    pub fn new(runtime: &Runtime) -> Self {
        Self {
            verifications: runtime.store.clone(),
            clock: runtime.clock.clone(),
        }
    }
}

impl Backend {
    pub fn new(config: &StartConfig, runtime: &Runtime) -> Result<Self, StartupError> {
        Ok(Self {
            start: StartApp::new(config, runtime)?,
            callback: CallbackApp::new(&config.common, runtime),
            poll: PollApp::new(runtime),
        })
    }
}
