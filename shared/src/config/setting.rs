//! What a setting is (its name, kind, default, range, readers and template parameter), and the
//! one reader of the environment every function and `smv-local` share.

use std::ops::RangeInclusive;
use std::time::Duration;

use super::{ConfigError, Function};

/// One environment variable, declared once: the readers read it through this declaration, the
/// per-function variable lists are derived from it, and the template test compares its
/// parameter with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    /// The Lambda functions whose configuration reads it (none: `smv-local` only).
    pub read_by: &'static [Function],
    pub template: Template,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text, checked by its reader; `default` when unset.
    Text {
        default: Option<&'static str>,
    },
    /// Text that must be set.
    Required,
    /// A whole number within `min..=max`.
    Number {
        default: u64,
        min: u64,
        max: u64,
    },
    Flag {
        default: bool,
    },
    /// One of `allowed`.
    Choice {
        default: &'static str,
        allowed: &'static [&'static str],
    },
}

/// How `template.yaml` sets the variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// `!Ref` of this parameter, whose `Default`, `MinValue`, `MaxValue` and `AllowedValues` are
    /// the declaration's.
    Parameter(&'static str),
    /// `!Ref` of this parameter, whose range differs on purpose for the reason given: the default
    /// is the same, and the bounds the template sets lie within the declaration's.
    Differs {
        parameter: &'static str,
        why: &'static str,
    },
    /// Set by the stack itself (a resource, a secret, a fixed value), for the reason given.
    Stack(&'static str),
    /// Not in the template: `smv-local` only.
    Local,
}

pub const ALL_FUNCTIONS: &[Function] = &[Function::Start, Function::Callback, Function::Poll];

impl Setting {
    pub const fn text(
        name: &'static str,
        read_by: &'static [Function],
        parameter: &'static str,
    ) -> Self {
        Self::new(
            name,
            Kind::Text { default: None },
            read_by,
            Template::Parameter(parameter),
        )
    }

    pub const fn required(
        name: &'static str,
        read_by: &'static [Function],
        template: Template,
    ) -> Self {
        Self::new(name, Kind::Required, read_by, template)
    }

    pub const fn number(
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
        read_by: &'static [Function],
        parameter: &'static str,
    ) -> Self {
        let kind = Kind::Number {
            default,
            min: *range.start(),
            max: *range.end(),
        };
        Self::new(name, kind, read_by, Template::Parameter(parameter))
    }

    pub const fn flag(
        name: &'static str,
        default: bool,
        read_by: &'static [Function],
        parameter: &'static str,
    ) -> Self {
        Self::new(
            name,
            Kind::Flag { default },
            read_by,
            Template::Parameter(parameter),
        )
    }

    /// The ARN of a Secrets Manager secret the stack names (`why` says which): the key is read
    /// from it at run time, never from the function's configuration.
    pub const fn secret(
        name: &'static str,
        read_by: &'static [Function],
        why: &'static str,
    ) -> Self {
        Self::new(
            name,
            Kind::Text { default: None },
            read_by,
            Template::Stack(why),
        )
    }

    /// A key given as text, where no secret store is: `smv-local` and the tests.
    pub const fn local_key(name: &'static str, read_by: &'static [Function]) -> Self {
        Self::new(name, Kind::Text { default: None }, read_by, Template::Local)
    }

    pub const fn new(
        name: &'static str,
        kind: Kind,
        read_by: &'static [Function],
        template: Template,
    ) -> Self {
        Self {
            name,
            kind,
            read_by,
            template,
        }
    }

    /// The same setting, set in the template as `template` says.
    pub const fn in_template(self, template: Template) -> Self {
        Self { template, ..self }
    }

    /// The template parameter that sets it, if one does.
    pub fn parameter(&self) -> Option<&'static str> {
        match self.template {
            Template::Parameter(parameter) | Template::Differs { parameter, .. } => Some(parameter),
            Template::Stack(_) | Template::Local => None,
        }
    }

    pub(super) fn problem(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            name: self.name,
            problem: problem.into(),
        }
    }
}

/// The environment, as a lookup: `std::env::var` for a Lambda function, a map in the tests, the
/// local server's defaults over the process environment in `smv-local`. Values are trimmed; an
/// empty one is unset.
pub struct Env<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// A text setting, or its default.
    pub fn text(&self, setting: &Setting) -> Option<String> {
        let default = match setting.kind {
            Kind::Text { default } => default,
            _ => None,
        };
        self.raw(setting.name).or(default.map(str::to_owned))
    }

    pub fn required(&self, setting: &Setting) -> Result<String, ConfigError> {
        self.text(setting)
            .ok_or_else(|| setting.problem("is not set"))
    }

    /// A text setting turned into `T` by `parse`, which names what it expects when it fails.
    pub fn parsed<T>(
        &self,
        setting: &Setting,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.text(setting)
            .map(|raw| parse(&raw).map_err(|problem| setting.problem(problem)))
            .transpose()
    }

    /// A comma-separated list, empty entries dropped.
    pub fn list(&self, setting: &Setting) -> Vec<String> {
        self.text(setting)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn number(&self, setting: &Setting) -> Result<u64, ConfigError> {
        let Kind::Number { default, min, max } = setting.kind else {
            return Err(setting.problem("is not declared as a number"));
        };
        match self.raw(setting.name) {
            None => Ok(default),
            Some(raw) => parse_number(&raw, min..=max).map_err(|problem| setting.problem(problem)),
        }
    }

    /// A number that may be left unset (no default applies).
    pub fn number_if_set(&self, setting: &Setting) -> Result<Option<u64>, ConfigError> {
        match self.raw(setting.name) {
            None => Ok(None),
            Some(_) => self.number(setting).map(Some),
        }
    }

    pub fn seconds(&self, setting: &Setting) -> Result<Duration, ConfigError> {
        self.number(setting).map(Duration::from_secs)
    }

    pub fn millis(&self, setting: &Setting) -> Result<Duration, ConfigError> {
        self.number(setting).map(Duration::from_millis)
    }

    pub fn flag(&self, setting: &Setting) -> Result<bool, ConfigError> {
        let Kind::Flag { default } = setting.kind else {
            return Err(setting.problem("is not declared as a flag"));
        };
        match self.raw(setting.name) {
            None => Ok(default),
            Some(raw) => parse_flag(&raw).ok_or_else(|| setting.problem("must be true or false")),
        }
    }

    pub fn choice(&self, setting: &Setting) -> Result<&'static str, ConfigError> {
        let Kind::Choice { default, allowed } = setting.kind else {
            return Err(setting.problem("is not declared as a choice"));
        };
        match self.raw(setting.name) {
            None => Ok(default),
            Some(raw) => allowed
                .iter()
                .find(|a| **a == raw)
                .copied()
                .ok_or_else(|| setting.problem(format!("must be {}", allowed.join(" or ")))),
        }
    }
}

/// `true`/`1` or `false`/`0`, in any case.
pub fn parse_flag(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A whole number within `range`, or what it must be.
pub fn parse_number(raw: &str, range: RangeInclusive<u64>) -> Result<u64, String> {
    match raw.trim().parse::<u64>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(format!(
            "must be a whole number from {} to {} (got {raw:?})",
            range.start(),
            range.end()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: Setting = Setting::number("N", 5, 1..=10, &[], "N");
    const F: Setting = Setting::flag("F", false, &[], "F");

    #[test]
    fn numbers_flags_and_choices_read_their_declaration() {
        let env = |name: &str| match name {
            "N" => Some(" 7 ".to_owned()),
            "F" => Some("TRUE".to_owned()),
            _ => None,
        };
        let env = Env(&env);
        assert_eq!(env.number(&N).unwrap(), 7);
        assert!(env.flag(&F).unwrap());
        let unset = Env(&|_| None);
        assert_eq!(unset.number(&N).unwrap(), 5);
        assert!(!unset.flag(&F).unwrap());
        let choice = Setting::new(
            "C",
            Kind::Choice {
                default: "deny",
                allowed: &["allow", "deny"],
            },
            &[],
            Template::Local,
        );
        assert_eq!(unset.choice(&choice).unwrap(), "deny");
        let wrong = Env(&|_| Some("maybe".to_owned()));
        assert_eq!(
            wrong.choice(&choice).unwrap_err().problem,
            "must be allow or deny"
        );
        assert_eq!(wrong.number(&N).unwrap_err().name, "N");
        assert_eq!(wrong.flag(&F).unwrap_err().problem, "must be true or false");
        let out_of_range = Env(&|_| Some("11".to_owned()));
        assert!(out_of_range.number(&N).is_err());
    }
}
