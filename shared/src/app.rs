//! The application context every handler receives: storage, the Infobip client, the clock and the
//! settings. Built once per process; the Lambda functions, the local server and the tests share it.

use std::sync::Arc;

use url::Url;

use crate::config::Config;
use crate::device_address::AddressPolicy;
use crate::infobip::InfobipClient;
use crate::metrics::{EmfStdout, MetricsSink};
use crate::rate_limit::RateLimits;
use crate::store::{DynamoDbStore, Store};
use crate::time::{Clock, SystemClock};
use crate::verification::Lifetimes;

#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    /// `None` in functions that never start a verification.
    pub infobip: Option<InfobipClient>,
    pub clock: Arc<dyn Clock>,
    pub lifetimes: Lifetimes,
    pub callback_base_url: Option<Url>,
    pub address_policy: AddressPolicy,
    pub rate_limits: RateLimits,
    pub metrics: Arc<dyn MetricsSink>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("could not build the Infobip HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
}

impl App {
    /// For the start function: its settings, the DynamoDB client from the Lambda environment,
    /// and the Infobip client.
    pub fn from_env_with_infobip() -> Result<Self, StartupError> {
        let config = Config::from_env(true)?;
        let store = dynamodb_store(&config)?;
        Self::new(config, store)
    }

    /// For the callback and poll functions, which never call Infobip: the Infobip client is
    /// neither built nor linked into their binaries.
    pub fn from_env_without_infobip() -> Result<Self, StartupError> {
        let config = Config::from_env(false)?;
        let store = dynamodb_store(&config)?;
        Ok(Self::assemble(config, store, None))
    }

    /// With the Infobip client when `config` has Infobip settings.
    pub fn new(config: Config, store: Arc<dyn Store>) -> Result<Self, StartupError> {
        let infobip = config
            .infobip
            .as_ref()
            .map(|c| InfobipClient::new(&c.base_url, &c.api_key, c.connect_timeout, c.timeout))
            .transpose()?;
        Ok(Self::assemble(config, store, infobip))
    }

    fn assemble(config: Config, store: Arc<dyn Store>, infobip: Option<InfobipClient>) -> Self {
        Self {
            store,
            infobip,
            clock: Arc::new(SystemClock),
            lifetimes: config.lifetimes,
            callback_base_url: config.callback_base_url,
            address_policy: config.address_policy,
            rate_limits: config.rate_limits,
            metrics: Arc::new(EmfStdout::new()),
        }
    }
}

fn dynamodb_store(config: &Config) -> Result<Arc<dyn Store>, StartupError> {
    let client = crate::store::client_from_env(|name| std::env::var(name).ok())?;
    Ok(Arc::new(DynamoDbStore::new(
        client,
        config.table_name.clone(),
    )))
}
