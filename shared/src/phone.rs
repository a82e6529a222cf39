//! Phone numbers, parsed against the numbering plan (libphonenumber's metadata) rather than a
//! pattern, so that "+44 7911 123456" is accepted and "+44 123" is refused before Infobip is paid
//! to find that out.

use std::fmt;

use rlibphonenumber::{ParseError, PhoneNumberFormat, PhoneNumberType, PHONE_NUMBER_UTIL};

/// An ISO 3166 alpha-2 country code as configuration names one (`gb` or `GB`), upper case: the
/// form [`PhoneNumber::country`] answers in.
pub fn iso_country(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())).then_some(code)
}

/// A phone number that the numbering plan of its country allows. Valid by construction.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// Country code and national number, digits only: the form Infobip wants.
    digits: String,
    country_code: u16,
    /// ISO 3166 alpha-2 of the number's country (`GB`), as the numbering plan assigns it.
    country: Option<String>,
    number_type: NumberType,
}

/// What the numbering plan says a number is: only some kinds can be a SIM, and only a SIM can be
/// verified by its carrier (a premium-rate or personal number would bill us, or route, elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    Mobile,
    /// Where the plan cannot tell (the US, Canada).
    FixedLineOrMobile,
    FixedLine,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    Personal,
    Pager,
    Uan,
    Voicemail,
    Unknown,
}

/// The number types a deployment verifies (`SIM_NUMBER_TYPES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimNumberTypes(pub Vec<NumberType>);

impl SimNumberTypes {
    pub fn admits(&self, phone: &PhoneNumber) -> bool {
        self.0.contains(&phone.number_type())
    }
}

impl NumberType {
    pub const ALL: [NumberType; 12] = [
        Self::Mobile,
        Self::FixedLineOrMobile,
        Self::FixedLine,
        Self::TollFree,
        Self::PremiumRate,
        Self::SharedCost,
        Self::Voip,
        Self::Personal,
        Self::Pager,
        Self::Uan,
        Self::Voicemail,
        Self::Unknown,
    ];

    /// libphonenumber's name (`MOBILE`, `PREMIUM_RATE`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "MOBILE",
            Self::FixedLineOrMobile => "FIXED_LINE_OR_MOBILE",
            Self::FixedLine => "FIXED_LINE",
            Self::TollFree => "TOLL_FREE",
            Self::PremiumRate => "PREMIUM_RATE",
            Self::SharedCost => "SHARED_COST",
            Self::Voip => "VOIP",
            Self::Personal => "PERSONAL_NUMBER",
            Self::Pager => "PAGER",
            Self::Uan => "UAN",
            Self::Voicemail => "VOICEMAIL",
            Self::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    fn of(kind: PhoneNumberType) -> Self {
        match kind {
            PhoneNumberType::Mobile => Self::Mobile,
            PhoneNumberType::FixedLineOrMobile => Self::FixedLineOrMobile,
            PhoneNumberType::FixedLine => Self::FixedLine,
            PhoneNumberType::TollFree => Self::TollFree,
            PhoneNumberType::PremiumRate => Self::PremiumRate,
            PhoneNumberType::SharedCost => Self::SharedCost,
            PhoneNumberType::VoIP => Self::Voip,
            PhoneNumberType::PersonalNumber => Self::Personal,
            PhoneNumberType::Pager => Self::Pager,
            PhoneNumberType::UAN => Self::Uan,
            PhoneNumberType::VoiceMail => Self::Voicemail,
            PhoneNumberType::Unknown => Self::Unknown,
        }
    }
}

/// Why a phone number was refused; the message is shown to the caller as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPhoneNumber {
    #[error("phoneNumber is empty")]
    Empty,
    #[error("phoneNumber is longer than {MAX_INPUT_CHARS} characters")]
    TooLong,
    #[error(
        "phoneNumber may contain only digits, a leading '+', spaces, '-', '.', '/' and parentheses"
    )]
    UnexpectedCharacter,
    #[error("phoneNumber must be in international format with its country code, e.g. +447911123456 (a leading 0 is a national prefix)")]
    NotInternational,
    #[error("phoneNumber does not start with a known country calling code")]
    UnknownCountryCode,
    #[error("phoneNumber is not a possible number in the numbering plan of country code +{0}")]
    NotInNumberingPlan(u16),
}

const MAX_INPUT_CHARS: usize = 32;
const SEPARATORS: &[char] = &[' ', '-', '.', '/', '(', ')', '\u{a0}'];

impl PhoneNumber {
    /// Accepts E.164 (`+447911123456`), international digits without `+` (`447911123456`, the
    /// form Infobip's demo app sends) and either of those with common separators.
    pub fn parse(raw: &str) -> Result<Self, InvalidPhoneNumber> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(InvalidPhoneNumber::Empty);
        }
        if raw.chars().count() > MAX_INPUT_CHARS {
            return Err(InvalidPhoneNumber::TooLong);
        }
        let without_plus = raw.strip_prefix('+').unwrap_or(raw);
        let mut digits = String::with_capacity(without_plus.len());
        for c in without_plus.chars() {
            match c {
                '0'..='9' => digits.push(c),
                c if SEPARATORS.contains(&c) => {}
                _ => return Err(InvalidPhoneNumber::UnexpectedCharacter),
            }
        }
        if digits.is_empty() {
            return Err(InvalidPhoneNumber::Empty);
        }
        // "00" is the international prefix in most of the world; anything else starting with 0 is
        // a national number whose country we would have to guess.
        let digits = match digits.strip_prefix("00") {
            Some(rest) => rest.to_owned(),
            None if digits.starts_with('0') => return Err(InvalidPhoneNumber::NotInternational),
            None => digits,
        };

        // The input is now `+` and at most 31 ASCII digits: nothing else reaches the parser.
        let parsed = match rlibphonenumber::PhoneNumber::parse(format!("+{digits}"), None) {
            Ok(parsed) => parsed,
            Err(ParseError::InvalidCountryCode) => {
                return Err(InvalidPhoneNumber::UnknownCountryCode)
            }
            // Too short or too long for any number: name the country when the digits have one.
            Err(_) => {
                return Err(match calling_code_of(&digits) {
                    Some(code) => InvalidPhoneNumber::NotInNumberingPlan(code),
                    None => InvalidPhoneNumber::UnknownCountryCode,
                })
            }
        };
        let country_code = u16::try_from(parsed.country_code)
            .map_err(|_| InvalidPhoneNumber::UnknownCountryCode)?;
        if !parsed.is_valid() {
            return Err(InvalidPhoneNumber::NotInNumberingPlan(country_code));
        }
        // E.164 keeps the leading zeros of Italian-style national numbers after the country code.
        let e164 = parsed.format_as(PhoneNumberFormat::E164);
        let digits = e164.trim_start_matches('+').to_owned();
        let country = parsed.get_region_code().map(|region| region.to_string());
        Ok(Self {
            digits,
            country_code,
            country,
            number_type: NumberType::of(parsed.get_type()),
        })
    }

    /// Digits only, no `+`: what Infobip's `phoneNumber` field expects.
    pub fn international_digits(&self) -> &str {
        &self.digits
    }

    /// E.164: `+` and the digits.
    pub fn e164(&self) -> String {
        format!("+{}", self.digits)
    }

    /// ISO 3166 alpha-2 (`GB`); `None` for a non-geographic number (`+800`…).
    /// Brazil (+55): the one country where Infobip binds the device by its address and answers
    /// OK, with no redirect and so no device code to show.
    pub fn is_brazilian(&self) -> bool {
        self.international_digits().starts_with("55")
    }

    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    pub fn number_type(&self) -> NumberType {
        self.number_type
    }

    /// For logs and storage: country code and the last three digits, e.g. `+44*******456`.
    pub fn masked(&self) -> String {
        let cc = self.country_code.to_string();
        let rest = &self.digits[cc.len()..];
        let shown = rest.len().min(3);
        let hidden = rest.len() - shown;
        format!("+{cc}{}{}", "*".repeat(hidden), &rest[hidden..])
    }
}

/// The country calling code the digits start with, if any: calling codes are prefix-free and one
/// to three digits long.
fn calling_code_of(digits: &str) -> Option<u16> {
    (1..=3.min(digits.len())).find_map(|len| {
        let code: u16 = digits[..len].parse().ok()?;
        PHONE_NUMBER_UTIL
            .get_supported_calling_codes()
            .any(|known| known == i32::from(code))
            .then_some(code)
    })
}

/// Debug shows the masked form so that a stray `{:?}` cannot leak a number into the logs.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_e164_bare_digits_separators_and_00_prefix() {
        for raw in [
            "+447911123456",
            "447911123456",
            "+44 7911 123456",
            "+44 (7911) 123-456",
            "0044 7911.123.456",
            " +447911123456 ",
        ] {
            let phone = PhoneNumber::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(phone.international_digits(), "447911123456", "{raw}");
            assert_eq!(phone.masked(), "+44*******456", "{raw}");
        }
    }

    #[test]
    fn keeps_italian_leading_zero() {
        let phone = PhoneNumber::parse("+39 06 6982 1234").unwrap();
        assert_eq!(phone.international_digits(), "390669821234");
    }

    #[test]
    fn recognises_brazil() {
        let phone = PhoneNumber::parse("+55 11 98765 4321").unwrap();
        assert_eq!(phone.masked(), "+55********321");
        assert_eq!(phone.international_digits(), "5511987654321");
    }

    #[test]
    fn refuses_impossible_numbers_naming_the_problem() {
        use InvalidPhoneNumber::*;
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("+", Empty),
            ("+44 7911 12345a", UnexpectedCharacter),
            ("+44\u{0}7911123456", UnexpectedCharacter),
            ("07911123456", NotInternational),
            ("+447911", NotInNumberingPlan(44)),
            ("+441", NotInNumberingPlan(44)),
            ("+8001", NotInNumberingPlan(800)),
            ("+3", UnknownCountryCode),
            ("+4479111234567890", NotInNumberingPlan(44)),
            ("+999123456789", UnknownCountryCode),
            ("1234567890123456789012345678901234", TooLong),
        ];
        for (raw, expected) in cases {
            assert_eq!(PhoneNumber::parse(raw), Err(expected), "{raw:?}");
        }
    }

    #[test]
    fn finds_the_calling_code_a_refused_number_starts_with() {
        assert_eq!(calling_code_of("4479"), Some(44));
        assert_eq!(calling_code_of("12025"), Some(1));
        assert_eq!(calling_code_of("8001"), Some(800));
        assert_eq!(calling_code_of("9991234"), None);
        assert_eq!(calling_code_of("3"), None);
    }

    #[test]
    fn a_number_knows_its_country() {
        for (number, country) in [
            ("+447400123456", "GB"),
            ("+447911123456", "GG"),
            ("+5511987654321", "BR"),
            ("+14155550123", "US"),
            ("+16135550123", "CA"),
        ] {
            assert_eq!(
                PhoneNumber::parse(number).unwrap().country(),
                Some(country),
                "{number}"
            );
        }
    }

    #[test]
    fn masks_all_but_country_code_and_last_three_digits() {
        let phone = PhoneNumber::parse("+447911123456").unwrap();
        assert_eq!(phone.masked(), "+44*******456");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(+44*******456)");
    }
}
