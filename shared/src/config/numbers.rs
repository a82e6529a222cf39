//! Which numbers are verified at all: only the kinds that can be a SIM, so that no start or PIN
//! is billed for a premium-rate, personal or toll-free number (toll fraud).

use super::setting::{Env, Kind, Setting, Template};
use super::{ConfigError, Function};
use crate::phone::{NumberType, SimNumberTypes};

/// libphonenumber's type names, comma-separated; `MOBILE` and `FIXED_LINE_OR_MOBILE` (where the
/// plan cannot tell, as in the US) by default.
pub const SIM_NUMBER_TYPES: Setting = Setting::new(
    "SIM_NUMBER_TYPES",
    Kind::Text {
        default: Some("MOBILE,FIXED_LINE_OR_MOBILE"),
    },
    &[Function::Start],
    Template::Parameter("SimNumberTypes"),
);

pub const SETTINGS: &[Setting] = &[SIM_NUMBER_TYPES];

pub(super) fn sim_number_types(env: &Env<'_>) -> Result<SimNumberTypes, ConfigError> {
    let types = env
        .list(&SIM_NUMBER_TYPES)
        .iter()
        .map(|name| {
            NumberType::parse(&name.to_ascii_uppercase()).ok_or_else(|| ConfigError {
                name: SIM_NUMBER_TYPES.name,
                problem: format!(
                    "must be libphonenumber types like MOBILE,FIXED_LINE_OR_MOBILE (got {name:?})"
                ),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    match types.is_empty() {
        true => Err(ConfigError {
            name: SIM_NUMBER_TYPES.name,
            problem: "must name at least one type".into(),
        }),
        false => Ok(SimNumberTypes(types)),
    }
}
