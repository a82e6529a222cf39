//! Building each function's context from its configuration: the adapters behind the ports
//! (DynamoDB, the Infobip clients over HTTP, the system clock, metrics on stdout).

use std::sync::Arc;

use crate::app::{Adapters, Backend, CallbackApp, PollApp, StartApp};
use crate::assertion::kms::KmsSigner;
use crate::assertion::Signer;
use crate::aws::Account;
use crate::config::{
    CallbackConfig, CommonConfig, ConfigError, FromEnv, InfobipConfig, PollConfig, StartConfig,
};
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

impl Adapters {
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
        let adapters = Adapters::lambda(&config.common, &lambda_account()?);
        Self::new(config, &adapters)
    }

    /// With the Infobip clients `config` describes.
    pub fn new(config: StartConfig, adapters: &Adapters) -> Result<Self, StartupError> {
        let transport = infobip_transport(&config.infobip)?;
        let pins = config.fallback.twofa.as_ref().map(|ids| {
            Arc::new(TwoFactorClient::new(
                transport.clone(),
                ids.application_id.clone(),
                ids.message_id.clone(),
            )) as Arc<dyn PinService>
        });
        let store = &adapters.store;
        Ok(Self {
            verifications: store.clone(),
            parked: store.clone(),
            counters: store.clone(),
            idempotency: store.clone(),
            pins,
            sim_swaps: Arc::new(SimSwapClient::new(transport.clone())),
            infobip: Arc::new(SmvClient::new(transport)),
            clock: adapters.clock.clone(),
            metrics: adapters.metrics.clone(),
            config: Arc::new(config),
        })
    }
}

impl CallbackApp {
    pub fn from_env() -> Result<Self, StartupError> {
        let config = CallbackConfig::from_env()?;
        let adapters = Adapters::lambda(&config.common, &lambda_account()?);
        Ok(Self::new(config, &adapters))
    }

    pub fn new(config: CallbackConfig, adapters: &Adapters) -> Self {
        Self {
            verifications: adapters.store.clone(),
            parked: adapters.store.clone(),
            clock: adapters.clock.clone(),
            metrics: adapters.metrics.clone(),
            config: Arc::new(config),
        }
    }
}

impl PollApp {
    /// Signs with the KMS key `ASSERTION_KEY_ID` names.
    pub fn from_env() -> Result<Self, StartupError> {
        let config = PollConfig::from_env()?;
        let account = lambda_account()?;
        let signer = KmsSigner::new(
            account.kms(),
            config.assertions.required_key_id()?,
            config.assertions.published_key_ids.clone(),
        );
        let adapters = Adapters::lambda(&config.common, &account);
        Self::new(config, &adapters, Arc::new(signer))
    }

    /// With the SIM-swap client `config` describes.
    pub fn new(
        config: PollConfig,
        adapters: &Adapters,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, StartupError> {
        let transport = infobip_transport(&config.infobip)?;
        Ok(Self {
            verifications: adapters.store.clone(),
            parked: adapters.store.clone(),
            returns: adapters.store.clone(),
            sim_swaps: Arc::new(SimSwapClient::new(transport)),
            signer,
            clock: adapters.clock.clone(),
            metrics: adapters.metrics.clone(),
            config: Arc::new(config),
        })
    }
}

fn infobip_transport(infobip: &InfobipConfig) -> Result<Transport, StartupError> {
    Ok(Transport::new(
        &infobip.base_url,
        &infobip.api_key,
        infobip.connect_timeout,
        infobip.timeout,
    )?)
}

impl Backend {
    /// The three functions over one set of adapters, each with the configuration `lookup` gives
    /// it, as the local server and the tests run them.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        adapters: &Adapters,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, StartupError> {
        Ok(Self {
            start: StartApp::new(StartConfig::from_lookup(&lookup)?, adapters)?,
            callback: CallbackApp::new(CallbackConfig::from_lookup(&lookup)?, adapters),
            poll: PollApp::new(PollConfig::from_lookup(&lookup)?, adapters, signer)?,
        })
    }
}
