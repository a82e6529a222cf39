//! The OpenID Provider (poll only): where the client registry is read from, and the key of the
//! pairwise `sub`s. Off unless a registry is named.

use std::path::PathBuf;

use super::common::key_source;
use super::setting::{Env, Setting, Template};
use super::{ConfigError, Function};
use crate::keys::KeySource;
use crate::oidc::subject::SubjectKey;

const POLL: &[Function] = &[Function::Poll];

/// The Secrets Manager secret whose value is the JSON array of clients (RFC 7591 names, secrets
/// as `sha256:` hashes): an operator changes it with `put-secret-value`, no deploy; the function
/// reads it again within 5 minutes, and at once (at most every 30 s) for a client it does not
/// know.
pub const OIDC_CLIENTS_SECRET_ARN: Setting =
    Setting::text("OIDC_CLIENTS_SECRET_ARN", POLL, "OidcClientsSecretArn");
/// `smv-local`: a file holding the same JSON array (secrets may be in the clear there).
pub const OIDC_CLIENTS_FILE: Setting = Setting::new(
    "OIDC_CLIENTS_FILE",
    super::Kind::Text { default: None },
    POLL,
    Template::Local,
);
/// The key of every `sub`: generated once by the stack and never rotated (a rotation changes
/// every `sub` relying parties have stored).
pub const SUBJECT_KEY_SECRET_ARN: Setting = Setting::secret(
    "SUBJECT_KEY_SECRET_ARN",
    POLL,
    "the SubjectKeySecret the stack generates",
);
pub const SUBJECT_KEY: Setting = Setting::local_key("SUBJECT_KEY", POLL);

pub const SETTINGS: &[Setting] = &[
    OIDC_CLIENTS_SECRET_ARN,
    OIDC_CLIENTS_FILE,
    SUBJECT_KEY_SECRET_ARN,
    SUBJECT_KEY,
];

/// Where the registry is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientsSource {
    Secret(String),
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    pub clients: ClientsSource,
    pub subject_key: KeySource,
}

/// `None` when no registry is named: the provider's routes are then not served.
pub(super) fn read(env: &Env<'_>) -> Result<Option<OidcConfig>, ConfigError> {
    // Read whether or not the provider is on, so that every setting is read the same way.
    let subject_key = key_source::<SubjectKey>(env, &SUBJECT_KEY_SECRET_ARN, &SUBJECT_KEY);
    let secret = env.text(&OIDC_CLIENTS_SECRET_ARN);
    let clients =
        match (secret, env.text(&OIDC_CLIENTS_FILE)) {
            (None, None) => return Ok(None),
            (Some(arn), None) => ClientsSource::Secret(arn),
            (None, Some(path)) => ClientsSource::File(PathBuf::from(path)),
            (Some(_), Some(_)) => return Err(OIDC_CLIENTS_FILE.problem(
                "and OIDC_CLIENTS_SECRET_ARN are both set: name the secret, or (locally) the file",
            )),
        };
    Ok(Some(OidcConfig {
        clients,
        subject_key: subject_key?,
    }))
}
