//! Building each function's context from its configuration: the adapters behind the ports
//! (DynamoDB, the Infobip clients over HTTP, the system clock, metrics on stdout), and its keys
//! (read from Secrets Manager on their first use in an execution environment, as they rotate).

use std::sync::Arc;

use crate::app::{Adapters, Backend, CallbackApp, OidcApp, PollApp, PollKeys, StartApp, StartKeys};
use crate::assertion::kms::KmsSigner;
use crate::assertion::Signer;
use crate::aws::Account;
use crate::config::oidc::{ClientsSource, OIDC_CLIENTS_FILE};
use crate::config::{
    CallbackConfig, CommonConfig, ConfigError, FromEnv, InfobipConfig, PollConfig, StartConfig,
};
use crate::infobip::{
    ApiKey, CamaraClient, PinService, SimSwapClient, SmvClient, Transport, TwoFactorClient,
};
use crate::keys::{FromSecret, KeySource, Rotating, SecretError, SecretSource};
use crate::metrics::EmfStdout;
use crate::oidc::clients::{PlainSecrets, Registry};
use crate::secrets_manager::SecretsManager;
use crate::store::{DynamoDbStore, Store};
use crate::time::SystemClock;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("could not build the Infobip HTTP client")]
    HttpClient(#[from] reqwest::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// The region, role credentials and endpoints Lambda puts in the environment.
fn lambda_account() -> Result<Account, ConfigError> {
    Account::from_env(|name| std::env::var(name).ok())
}

impl Adapters {
    /// The system clock and metrics on stdout, as a Lambda function runs, with keys read from
    /// `secrets`.
    pub fn new(store: Arc<dyn Store>, secrets: Option<Arc<dyn SecretSource>>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            metrics: Arc::new(EmfStdout::new()),
            secrets,
        }
    }

    /// For a Lambda function: the DynamoDB table `config` names, and Secrets Manager, in
    /// `account`.
    fn lambda(config: &CommonConfig, account: &Account) -> Self {
        let table = DynamoDbStore::new(account.dynamodb(), config.table_name.clone());
        let secrets = SecretsManager::new(account.secrets_manager());
        Self::new(Arc::new(table), Some(Arc::new(secrets)))
    }

    /// `source`'s key: a given one now, a secret on its first use (init makes no network call).
    fn key<K: FromSecret>(&self, source: &KeySource) -> Result<Arc<Rotating<K>>, SecretError> {
        Ok(Arc::new(Rotating::new(source, self.secrets.as_ref())?))
    }

    /// The client registry: a file's, read now (`smv-local`), or a secret's, on its first use
    /// and again as it changes.
    fn clients(&self, source: &ClientsSource) -> Result<Arc<Rotating<Registry>>, StartupError> {
        let registry = match source {
            ClientsSource::Secret(id) => {
                return Ok(self.key(&KeySource::Secret(id.clone()))?);
            }
            ClientsSource::File(path) => {
                let raw = std::fs::read_to_string(path).map_err(|e| ConfigError {
                    name: OIDC_CLIENTS_FILE.name,
                    problem: format!("{}: {e}", path.display()),
                })?;
                Registry::parse(&raw, PlainSecrets::Allowed).map_err(|e| ConfigError {
                    name: OIDC_CLIENTS_FILE.name,
                    problem: e.to_string(),
                })?
            }
        };
        Ok(Arc::new(Rotating::fixed(registry)))
    }

    fn infobip_transport(
        &self,
        infobip: &InfobipConfig,
        api_keys: Arc<Rotating<ApiKey>>,
    ) -> Result<Transport, StartupError> {
        Ok(Transport::new(
            &infobip.base_url,
            api_keys,
            self.clock.clone(),
            self.metrics.clone(),
            infobip.connect_timeout,
            infobip.timeout,
        )?)
    }
}

impl StartApp {
    pub fn from_env() -> Result<Self, StartupError> {
        let config = StartConfig::from_env()?;
        let adapters = Adapters::lambda(&config.common, &lambda_account()?);
        Self::new(config, &adapters)
    }

    /// With the Infobip clients `config` describes, and its keys (read on their first use).
    pub fn new(config: StartConfig, adapters: &Adapters) -> Result<Self, StartupError> {
        let api_keys = adapters.key(&config.infobip.api_key)?;
        let phone_hash = adapters.key(&config.phone_hash_key)?;
        let callback = adapters.key(&config.callback_key)?;
        let returns = adapters.key(&config.return_key)?;
        let transport = adapters.infobip_transport(&config.infobip, api_keys)?;
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
            camara: Arc::new(CamaraClient::new(transport.clone())),
            infobip: Arc::new(SmvClient::new(transport)),
            clock: adapters.clock.clone(),
            metrics: adapters.metrics.clone(),
            config: Arc::new(config),
            keys: StartKeys {
                phone_hash,
                callback,
                returns,
            },
        })
    }
}

impl CallbackApp {
    pub fn from_env() -> Result<Self, StartupError> {
        let config = CallbackConfig::from_env()?;
        let adapters = Adapters::lambda(&config.common, &lambda_account()?);
        Self::new(config, &adapters)
    }

    pub fn new(config: CallbackConfig, adapters: &Adapters) -> Result<Self, StartupError> {
        Ok(Self {
            verifications: adapters.store.clone(),
            parked: adapters.store.clone(),
            clock: adapters.clock.clone(),
            metrics: adapters.metrics.clone(),
            callback_keys: adapters.key(&config.callback_key)?,
            config: Arc::new(config),
        })
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

    /// With the SIM-swap client `config` describes, and its keys (read on their first use).
    pub fn new(
        config: PollConfig,
        adapters: &Adapters,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, StartupError> {
        let api_keys = adapters.key(&config.infobip.api_key)?;
        let phone_hash = adapters.key(&config.phone_hash_key)?;
        let returns = adapters.key(&config.return_key)?;
        let transport = adapters.infobip_transport(&config.infobip, api_keys)?;
        let config_oidc = config.oidc.clone();
        Ok(Self {
            verifications: adapters.store.clone(),
            parked: adapters.store.clone(),
            returns: adapters.store.clone(),
            counters: adapters.store.clone(),
            sim_swaps: Arc::new(SimSwapClient::new(transport.clone())),
            camara: Arc::new(CamaraClient::new(transport)),
            signer,
            clock: adapters.clock.clone(),
            metrics: adapters.metrics.clone(),
            config: Arc::new(config),
            keys: PollKeys {
                phone_hash,
                returns,
            },
            oidc: match &config_oidc {
                None => None,
                Some(oidc) => Some(OidcApp {
                    clients: adapters.clients(&oidc.clients)?,
                    subjects: adapters.key(&oidc.subject_key)?,
                }),
            },
        })
    }
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
            callback: CallbackApp::new(CallbackConfig::from_lookup(&lookup)?, adapters)?,
            poll: PollApp::new(PollConfig::from_lookup(&lookup)?, adapters, signer)?,
        })
    }
}
