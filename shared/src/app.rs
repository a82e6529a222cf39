//! What each function's handlers receive: exactly the parts that function uses, so that a poll
//! handler cannot reach Infobip and the callback function holds no key. Built once per process;
//! the Lambda functions, the local server and the tests share them.

use std::sync::Arc;

use url::Url;

use crate::config::{CommonConfig, StartConfig};
use crate::device_address::AddressPolicy;
use crate::infobip::{SilentVerifier, SmvClient, Transport};
use crate::metrics::{EmfStdout, MetricsSink};
use crate::rate_limit::RateLimits;
use crate::store::{
    dynamodb_client, Counters, DynamoDbStore, IdempotencyRecords, ParkedCallbacks, Store,
    Verifications,
};
use crate::time::{Clock, SystemClock};
use crate::verification::Lifetimes;

/// The start-verify function: starts verifications and tells a device its address.
#[derive(Clone)]
pub struct StartApp {
    pub verifications: Arc<dyn Verifications>,
    pub parked: Arc<dyn ParkedCallbacks>,
    pub counters: Arc<dyn Counters>,
    pub idempotency: Arc<dyn IdempotencyRecords>,
    pub infobip: Arc<dyn SilentVerifier>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub lifetimes: Lifetimes,
    pub callback_base_url: Option<Url>,
    pub address_policy: AddressPolicy,
    pub rate_limits: RateLimits,
}

/// The callback function: records the results Infobip sends.
#[derive(Clone)]
pub struct CallbackApp {
    pub verifications: Arc<dyn Verifications>,
    pub parked: Arc<dyn ParkedCallbacks>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub lifetimes: Lifetimes,
}

/// The poll function: reports results.
#[derive(Clone)]
pub struct PollApp {
    pub verifications: Arc<dyn Verifications>,
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("could not build the Infobip HTTP client")]
    HttpClient(#[from] reqwest::Error),
}

/// The process-wide parts every context shares.
#[derive(Clone)]
pub struct Runtime {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
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
        let client = dynamodb_client::from_env(|name| std::env::var(name).ok())?;
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

/// All three functions in one process, as the local server and the tests run them.
#[derive(Clone)]
pub struct Backend {
    pub start: StartApp,
    pub callback: CallbackApp,
    pub poll: PollApp,
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
