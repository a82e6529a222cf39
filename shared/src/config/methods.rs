//! Which Infobip method verifies a number, by its country (start only: the method is recorded on
//! the verification, so the other functions read it from there).

use super::setting::{Env, Kind, Setting, Template};
use super::{ConfigError, Function};
use crate::method_policy::MethodPolicy;

const START: &[Function] = &[Function::Start];

/// `CC:method` entries (`smv` or `camara`, network-based), `*` for every other country.
pub const VERIFY_METHODS: Setting = Setting::new(
    "VERIFY_METHODS",
    Kind::Text {
        default: Some("*:smv"),
    },
    START,
    Template::Parameter("VerifyMethods"),
);
/// Where the SIM-based flow may be asked for; empty by default (it needs an Android app).
pub const VERIFY_SIM_COUNTRIES: Setting =
    Setting::text("VERIFY_SIM_COUNTRIES", START, "VerifySimCountries");
/// The Infobip client id the device names at CAMARA's authorize endpoint (the account's
/// username, Infobip says).
pub const CAMARA_CLIENT_ID: Setting = Setting::text("CAMARA_CLIENT_ID", START, "CamaraClientId");

pub const SETTINGS: &[Setting] = &[VERIFY_METHODS, VERIFY_SIM_COUNTRIES, CAMARA_CLIENT_ID];

/// The methods, and the client id where a country uses network-based CAMARA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodsConfig {
    pub policy: MethodPolicy,
    pub camara_client_id: Option<String>,
}

impl MethodsConfig {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let methods = env.text(&VERIFY_METHODS).unwrap_or_default();
        let sims = env.text(&VERIFY_SIM_COUNTRIES).unwrap_or_default();
        let policy = MethodPolicy::parse(&methods, &sims).map_err(|e| {
            let setting = match MethodPolicy::parse(&methods, "") {
                Ok(_) => &VERIFY_SIM_COUNTRIES,
                Err(_) => &VERIFY_METHODS,
            };
            setting.problem(e.to_string())
        })?;
        let camara_client_id = env.text(&CAMARA_CLIENT_ID);
        if let Some(id) = &camara_client_id {
            // It goes into a URL's query; Infobip's ids are account usernames.
            if id.len() > 256 || !id.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(
                    CAMARA_CLIENT_ID.problem("must be printable ASCII, at most 256 characters")
                );
            }
        }
        if policy.uses_camara() && camara_client_id.is_none() {
            return Err(CAMARA_CLIENT_ID.problem(
                "must be set when VERIFY_METHODS names camara (the Infobip client id of the account)",
            ));
        }
        Ok(Self {
            policy,
            camara_client_id,
        })
    }
}
