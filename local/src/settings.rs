//! What the local server runs with. Nothing configured: the in-memory store and the simulator.
//! `TABLE_NAME`: DynamoDB (the usual AWS variables, e.g. `AWS_ENDPOINT_URL_DYNAMODB` for a local
//! server). `INFOBIP_BASE_URL` and `INFOBIP_API_KEY`: a real Infobip account.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use smv_shared::app::Adapters;
use smv_shared::assertion::kms::KmsSigner;
use smv_shared::assertion::local::LocalSigner;
use smv_shared::assertion::Signer;
use smv_shared::aws::Account;
use smv_shared::config::{ConfigError, Env, FromEnv, Kind, PollConfig, Setting, Template};
use smv_shared::keys::SecretSource;
use smv_shared::secrets_manager::SecretsManager;
use smv_shared::store::{DynamoDbStore, MemoryStore, Store};
use smv_shared::Backend;
use url::Url;

use crate::simulator::{self, Simulator};

pub const DEFAULT_PORT: u16 = 3000;
/// The `aud` of assertions when `ASSERTION_AUDIENCE` is not set: a relying party checking
/// assertions from `smv-local` expects this value.
pub const LOCAL_AUDIENCE: &str = "smv-local";

/// `smv-local`'s own settings, read with the functions' reader.
pub const BIND_ADDR: Setting = local(
    "BIND_ADDR",
    Kind::Text {
        default: Some("127.0.0.1"),
    },
);
pub const PORT: Setting = local(
    "PORT",
    Kind::Number {
        default: DEFAULT_PORT as u64,
        min: 0,
        max: u16::MAX as u64,
    },
);
/// Requests each function serves at once; unset: no limit.
pub const LOCAL_CONCURRENCY: Setting = local(
    "LOCAL_CONCURRENCY",
    Kind::Number {
        default: 0,
        min: 1,
        max: 100_000,
    },
);
pub const SIMULATOR_DUPLICATE_CALLBACKS: Setting = local(
    "SIMULATOR_DUPLICATE_CALLBACKS",
    Kind::Flag { default: false },
);
/// Logs and metrics as the functions write them in Lambda (JSON lines and EMF documents on
/// stdout) instead of readable lines on stderr: what `scripts/count` measures the bytes of.
pub const LOCAL_LAMBDA_LOGS: Setting = local("LOCAL_LAMBDA_LOGS", Kind::Flag { default: false });
pub const ASSERTION_SIGNING_KEY_FILE: Setting =
    local("ASSERTION_SIGNING_KEY_FILE", Kind::Text { default: None });

const fn local(name: &'static str, kind: Kind) -> Setting {
    Setting::new(name, kind, &[], Template::Local)
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not create the DynamoDB table: {0}")]
    Table(String),
    #[error(transparent)]
    Startup(#[from] smv_shared::startup::StartupError),
    #[error("the assertion signing key cannot be used: {0}")]
    Signer(#[from] smv_shared::assertion::SignError),
}

/// Where a laptop reaches AWS (or a local server) when a setting needs it: the region and
/// credentials from anywhere aws-config looks (profiles, SSO), the endpoints from the usual
/// variables; the clients themselves are the functions' own. Read once.
async fn laptop_account(env: &impl Fn(&str) -> Option<String>) -> Result<Account, SettingsError> {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(smv_shared::aws::http_client())
        .load()
        .await;
    let (Some(region), Some(credentials)) = (aws.region().cloned(), aws.credentials_provider())
    else {
        return Err(invalid(
            "AWS_REGION",
            "and AWS credentials must be available for TABLE_NAME or ASSERTION_KEY_ID",
        ));
    };
    let endpoint = |service: &str| env(service).or_else(|| env("AWS_ENDPOINT_URL"));
    Ok(Account {
        region,
        credentials,
        dynamodb_endpoint: endpoint("AWS_ENDPOINT_URL_DYNAMODB"),
        kms_endpoint: endpoint("AWS_ENDPOINT_URL_KMS"),
        secrets_endpoint: endpoint("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
    })
}

/// The KMS key `ASSERTION_KEY_ID` names (e.g. on moto through `AWS_ENDPOINT_URL_KMS`), else the
/// PKCS#8 PEM key in `ASSERTION_SIGNING_KEY_FILE`, else a key generated for this run.
async fn signer(
    env: &dyn Fn(&str) -> Option<String>,
    config: &PollConfig,
    account: Option<&Account>,
) -> Result<(Arc<dyn Signer>, String), SettingsError> {
    if let (Some(key_id), Some(account)) = (&config.assertions.key_id, account) {
        let signer = KmsSigner::new(
            account.kms(),
            key_id.clone(),
            config.assertions.published_key_ids.clone(),
        );
        // Fail at start, not at the first redeem, if the key cannot be read.
        signer.keys().await?;
        return Ok((Arc::new(signer), format!("KMS key {key_id}")));
    }
    if let Some(path) = Env(env).text(&ASSERTION_SIGNING_KEY_FILE) {
        let pem = std::fs::read_to_string(&path).map_err(|e| {
            invalid(
                ASSERTION_SIGNING_KEY_FILE.name,
                format!("cannot be read ({e})"),
            )
        })?;
        let signer = LocalSigner::from_pkcs8_pem(&pem)?;
        return Ok((Arc::new(signer), format!("P-256 key from {path}")));
    }
    Ok((
        Arc::new(LocalSigner::generate()?),
        "a P-256 key generated for this run (ASSERTION_SIGNING_KEY_FILE or ASSERTION_KEY_ID to keep one)".into(),
    ))
}

pub fn bind_address(env: &impl Fn(&str) -> Option<String>) -> Result<SocketAddr, SettingsError> {
    let env = Env(env);
    let ip = env.parsed(&BIND_ADDR, |raw| {
        raw.parse::<IpAddr>()
            .map_err(|_| format!("must be an IP address (got {raw:?})"))
    })?;
    let port = env.parsed(&PORT, |raw| {
        raw.parse::<u16>()
            .map_err(|_| format!("must be a port number (got {raw:?})"))
    })?;
    Ok(SocketAddr::new(
        ip.unwrap_or(IpAddr::from([127, 0, 0, 1])),
        port.unwrap_or(DEFAULT_PORT),
    ))
}

/// A problem with a setting `smv-local` checks itself.
pub fn invalid(name: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError::Config(ConfigError {
        name,
        problem: problem.into(),
    })
}

pub struct Running {
    pub backend: Backend,
    /// Requests each function serves at once (`LOCAL_CONCURRENCY`); `None`: no limit.
    pub concurrency: Option<usize>,
    pub simulator: Option<Arc<Simulator>>,
    pub store_description: String,
    pub infobip_description: String,
    pub signer_description: String,
}

/// Builds the application for a server listening at `base_url`.
pub async fn build(
    env: impl Fn(&str) -> Option<String>,
    base_url: &Url,
) -> Result<Running, SettingsError> {
    let real_infobip = match (env("INFOBIP_BASE_URL"), env("INFOBIP_API_KEY")) {
        (Some(_), Some(_)) => true,
        (None, None) => false,
        (Some(_), None) => {
            return Err(invalid(
                "INFOBIP_API_KEY",
                "must be set with INFOBIP_BASE_URL (or unset both to use the simulator)",
            ))
        }
        (None, Some(_)) => {
            return Err(invalid(
                "INFOBIP_BASE_URL",
                "must be set with INFOBIP_API_KEY (or unset both to use the simulator)",
            ))
        }
    };
    let duplicate_callbacks = Env(&env).flag(&SIMULATOR_DUPLICATE_CALLBACKS)?;
    let simulator = (!real_infobip)
        .then(|| Arc::new(Simulator::new(base_url).with_duplicate_callbacks(duplicate_callbacks)));
    let table = env("TABLE_NAME");
    // A key for this run only: counters and Idempotency-Key records kept in a DynamoDB table are
    // not recognised after a restart unless PHONE_HASH_KEY is set.
    let phone_hash_key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );

    let callback_secret_key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let return_key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    // The OpenID Provider's `sub`s change with it: set SUBJECT_KEY to keep them across restarts.
    let subject_key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let oidc_on = env("OIDC_CLIENTS_FILE").is_some() || env("OIDC_CLIENTS_SECRET_ARN").is_some();

    let defaults = |name: &str| -> Option<String> {
        match name {
            // A key named by its secret is not given as well.
            "PHONE_HASH_KEY"
            | "CALLBACK_SECRET_KEY"
            | "RETURN_KEY"
            | "INFOBIP_API_KEY"
            | "SUBJECT_KEY"
                if env(&format!("{name}_SECRET_ARN")).is_some() =>
            {
                None
            }
            "TABLE_NAME" => Some(table.clone().unwrap_or_else(|| "in-memory".into())),
            "INFOBIP_BASE_URL" if !real_infobip => {
                simulator.as_ref().map(|s| s.base_url().to_string())
            }
            "INFOBIP_API_KEY" if !real_infobip => Some(simulator::API_KEY.into()),
            // With the simulator, PINs cost nothing: fallback is on for its test numbers'
            // countries, through the simulator's 2FA.
            "FALLBACK_COUNTRIES" if !real_infobip => env(name).or_else(|| Some("GB,BR,DE".into())),
            // With the simulator, Germany is verified by CAMARA (network-based, or SIM-based when
            // the app asks), so that every method runs here: see the README's test numbers.
            "VERIFY_METHODS" if !real_infobip => {
                env(name).or_else(|| Some("DE:camara,*:smv".into()))
            }
            "VERIFY_SIM_COUNTRIES" if !real_infobip => env(name).or_else(|| Some("DE".into())),
            "CAMARA_CLIENT_ID" if !real_infobip => {
                env(name).or_else(|| Some(crate::camara_sim::CLIENT_ID.into()))
            }
            "TWOFA_APPLICATION_ID" | "TWOFA_MESSAGE_ID" if !real_infobip => {
                env(name).or_else(|| Some("smv-local-simulator".into()))
            }
            "CALLBACK_BASE_URL" => env(name).or_else(|| Some(base_url.to_string())),
            "PHONE_HASH_KEY" => env(name).or_else(|| Some(phone_hash_key.clone())),
            "CALLBACK_SECRET_KEY" => env(name).or_else(|| Some(callback_secret_key.clone())),
            "RETURN_KEY" => env(name).or_else(|| Some(return_key.clone())),
            "SUBJECT_KEY" if oidc_on => env(name).or_else(|| Some(subject_key.clone())),
            "ASSERTION_AUDIENCE" => env(name).or_else(|| Some(LOCAL_AUDIENCE.into())),
            // Locally, Infobip's demo app is the usual client.
            "DEMO_APP_ROUTES" => env(name).or_else(|| Some("true".into())),
            "ASSERTION_ISSUER" => {
                env(name).or_else(|| Some(base_url.as_str().trim_end_matches('/').to_owned()))
            }
            _ => env(name),
        }
    };
    let poll_config = PollConfig::from_lookup(defaults)?;
    let account = match table.is_some() || poll_config.assertions.key_id.is_some() {
        true => Some(laptop_account(&env).await?),
        false => None,
    };
    let (signer, signer_description) = signer(&env, &poll_config, account.as_ref()).await?;
    let infobip_description = match &simulator {
        Some(s) => format!("built-in simulator at {}", s.base_url()),
        None => format!(
            "{} (real account)",
            env("INFOBIP_BASE_URL").unwrap_or_default()
        ),
    };

    let (store, store_description): (Arc<dyn Store>, String) =
        match table.as_ref().zip(account.as_ref()) {
            None => (
                Arc::new(MemoryStore::new()),
                "in-memory (lost on exit; set TABLE_NAME for DynamoDB)".into(),
            ),
            Some((table, account)) => {
                let client = account.dynamodb();
                if account.dynamodb_endpoint.is_some() {
                    ensure_table(&client, table).await?;
                }
                let place = account
                    .dynamodb_endpoint
                    .clone()
                    .unwrap_or_else(|| format!("AWS region {}", account.region));
                (
                    Arc::new(DynamoDbStore::new(client, table.clone())),
                    format!("DynamoDB table {table} at {place}"),
                )
            }
        };
    // Keys named by their secrets (`*_SECRET_ARN`) are read from Secrets Manager where AWS is
    // configured (moto, for a rotation rehearsal); otherwise every key is given.
    let secrets = account.as_ref().map(|account| {
        Arc::new(SecretsManager::new(account.secrets_manager())) as Arc<dyn SecretSource>
    });
    let mut adapters = Adapters::new(store, secrets);
    // stdout is for the person running the server, not for CloudWatch, unless it stands in for
    // CloudWatch.
    if !Env(&env).flag(&LOCAL_LAMBDA_LOGS)? {
        adapters.metrics = Arc::new(smv_shared::metrics::Discard);
    }
    let backend = Backend::from_lookup(defaults, &adapters, signer)?;
    let concurrency = Env(&env)
        .number_if_set(&LOCAL_CONCURRENCY)?
        .map(|n| n as usize);
    Ok(Running {
        backend,
        concurrency,
        simulator,
        store_description,
        infobip_description,
        signer_description,
    })
}

/// Against a local DynamoDB endpoint only: create the table the template would, if missing. Never
/// against AWS itself, where the stack owns the table.
async fn ensure_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), SettingsError> {
    let exists = client.describe_table().table_name(table).send().await;
    match exists {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            DynamoDbStore::create_table(client, table)
                .await
                .map_err(|e| SettingsError::Table(e.to_string()))
        }
        Err(e) => Err(SettingsError::Table(
            aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
        )),
    }
}
