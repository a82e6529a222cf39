//! Which Infobip method verifies a number, by the number's country: the grammar of
//! `VERIFY_METHODS` (`GB:camara,BR:smv,*:smv`) and `VERIFY_SIM_COUNTRIES` (`GB,DE`), parsed
//! into a value that cannot be ambiguous; and [`SilentMethod`], the method a verification was
//! started with, as the poll and the assertion name it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::phone::{iso_country, PhoneNumber};

/// A network-based method an enterprise can choose per country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMethod {
    /// Infobip Silent Mobile Verification: the device follows a redirect, the result comes by
    /// callback.
    Smv,
    /// CAMARA Number Verification, network-based: the device meets its operator and comes back
    /// with a code; the result is asked for at once.
    Camara,
}

impl VerifyMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smv => "smv",
            Self::Camara => "camara",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "smv" => Some(Self::Smv),
            "camara" => Some(Self::Camara),
            _ => None,
        }
    }
}

/// How a verification is carried out without a PIN: what the verification records, the poll
/// reports as `method` and the assertion as `amr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SilentMethod {
    /// Infobip SMV (every verification before CAMARA, so the default of a stored record).
    #[default]
    Smv,
    /// CAMARA Number Verification, network-based.
    Camara,
    /// CAMARA Number Verification, SIM-based (GSMA TS.43 through Android's Credential Manager).
    Sim,
}

impl SilentMethod {
    pub const ALL: [SilentMethod; 3] = [Self::Smv, Self::Camara, Self::Sim];

    /// The poll's `method` (SMV keeps `silent`, the name it had before CAMARA) and the metrics'.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smv => "silent",
            Self::Camara => "camara",
            Self::Sim => "sim",
        }
    }

    /// The assertion's `amr`: RFC 8176 registers no value for any of them, so these are ours.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Smv => "smv",
            Self::Camara => "camara",
            Self::Sim => "camara-sim",
        }
    }

    /// As storage keeps it.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Smv => "smv",
            Self::Camara => "camara",
            Self::Sim => "sim",
        }
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.stored() == raw)
    }
}

impl From<VerifyMethod> for SilentMethod {
    fn from(method: VerifyMethod) -> Self {
        match method {
            VerifyMethod::Smv => Self::Smv,
            VerifyMethod::Camara => Self::Camara,
        }
    }
}

/// The method for each country, and for every other country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodPolicy {
    by_country: BTreeMap<String, VerifyMethod>,
    otherwise: VerifyMethod,
    /// Countries whose numbers may use the SIM-based flow when the app asks for it.
    sim_countries: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPolicy(String);

impl fmt::Display for InvalidPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidPolicy {}

impl Default for MethodPolicy {
    /// `*:smv`, no SIM-based country: today's behaviour.
    fn default() -> Self {
        Self {
            by_country: BTreeMap::new(),
            otherwise: VerifyMethod::Smv,
            sim_countries: BTreeSet::new(),
        }
    }
}

impl MethodPolicy {
    /// `methods`: comma-separated `CC:method` entries (ISO 3166 alpha-2 or `*`; `smv` or
    /// `camara`), each country at most once, `*` at most once (SMV where absent).
    /// `sim_countries`: comma-separated ISO codes, empty for none.
    pub fn parse(methods: &str, sim_countries: &str) -> Result<Self, InvalidPolicy> {
        let mut policy = Self::default();
        let mut otherwise_given = false;
        for entry in methods.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (country, method) = entry.split_once(':').ok_or_else(|| {
                InvalidPolicy(format!("{entry:?} is not COUNTRY:METHOD, e.g. GB:camara"))
            })?;
            let method = VerifyMethod::parse(method.trim()).ok_or_else(|| {
                InvalidPolicy(format!("{entry:?}: the method must be smv or camara"))
            })?;
            match country.trim() {
                "*" if otherwise_given => {
                    return Err(InvalidPolicy("* is given twice".into()));
                }
                "*" => {
                    otherwise_given = true;
                    policy.otherwise = method;
                }
                code => {
                    let code = iso_code(code)?;
                    if policy.by_country.insert(code.clone(), method).is_some() {
                        return Err(InvalidPolicy(format!("{code} is given twice")));
                    }
                }
            }
        }
        for code in sim_countries
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            policy.sim_countries.insert(iso_code(code)?);
        }
        Ok(policy)
    }

    /// The method for `phone`'s country; a number whose country the numbering plan does not
    /// name gets the `*` method.
    pub fn method_for(&self, phone: &PhoneNumber) -> VerifyMethod {
        phone
            .country()
            .and_then(|c| self.by_country.get(c))
            .copied()
            .unwrap_or(self.otherwise)
    }

    /// Whether any country is verified by network-based CAMARA (which needs `CAMARA_CLIENT_ID`).
    pub fn uses_camara(&self) -> bool {
        self.otherwise == VerifyMethod::Camara
            || self.by_country.values().any(|m| *m == VerifyMethod::Camara)
    }

    /// Whether `phone` may be verified SIM-based (only where its country is listed).
    pub fn allows_sim(&self, phone: &PhoneNumber) -> bool {
        phone
            .country()
            .is_some_and(|c| self.sim_countries.contains(c))
    }
}

fn iso_code(raw: &str) -> Result<String, InvalidPolicy> {
    iso_country(raw).ok_or_else(|| {
        InvalidPolicy(format!(
            "{raw:?} is not an ISO 3166 alpha-2 country code such as GB"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(raw: &str) -> PhoneNumber {
        PhoneNumber::parse(raw).unwrap()
    }

    #[test]
    fn each_country_gets_its_method_and_the_rest_the_star() {
        let policy = MethodPolicy::parse("GB:camara, br:smv, *:camara", "").unwrap();
        assert_eq!(
            policy.method_for(&phone("+447911123456")),
            VerifyMethod::Camara
        );
        assert_eq!(
            policy.method_for(&phone("+5521912345678")),
            VerifyMethod::Smv
        );
        assert_eq!(
            policy.method_for(&phone("+4915112345678")),
            VerifyMethod::Camara
        );
        let smv_by_default = MethodPolicy::parse("GB:camara", "").unwrap();
        assert_eq!(
            smv_by_default.method_for(&phone("+4915112345678")),
            VerifyMethod::Smv
        );
        assert_eq!(
            MethodPolicy::parse("", "").unwrap(),
            MethodPolicy::default()
        );
        assert_eq!(
            MethodPolicy::parse("*:smv", "")
                .unwrap()
                .method_for(&phone("+447911123456")),
            VerifyMethod::Smv
        );
    }

    #[test]
    fn sim_based_only_where_listed() {
        let policy = MethodPolicy::parse("*:smv", "gb, DE").unwrap();
        assert!(policy.allows_sim(&phone("+447911000001")));
        assert!(!policy.allows_sim(&phone("+447911123456")), "GG is not GB");
        assert!(policy.allows_sim(&phone("+4915112345678")));
        assert!(!policy.allows_sim(&phone("+5521912345678")));
        assert!(!MethodPolicy::default().allows_sim(&phone("+447911000001")));
    }

    #[test]
    fn an_ambiguous_or_malformed_policy_is_refused_with_its_reason() {
        for (methods, sims, says) in [
            ("GB", "", "COUNTRY:METHOD"),
            ("GB:sms", "", "smv or camara"),
            ("GBR:camara", "", "ISO 3166"),
            ("GB:camara,gb:smv", "", "GB is given twice"),
            ("*:smv,*:camara", "", "* is given twice"),
            ("*:smv", "U1", "ISO 3166"),
        ] {
            let refused = MethodPolicy::parse(methods, sims).unwrap_err();
            assert!(
                refused.to_string().contains(says),
                "{methods} {sims}: {refused}"
            );
        }
    }
}
