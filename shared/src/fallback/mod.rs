//! The PIN fallback for users silent verification cannot reach: when it is allowed, which
//! channel, and what a PIN is; [`state`] holds a verification's PIN state and the rules over it.
//! Silent verification that produced no evidence (an error that says nothing about the number, or
//! no answer in time) may fall back to a PIN by SMS or voice through Infobip 2FA; a sign of a SIM
//! swap never does, and INVALID does only where configured (the README's fallback section).

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::method_policy::SilentMethod;

mod state;

pub use state::{
    FallbackState, PinPhase, PinState, PinVerdict, SendRefusal, SIM_SWAP_ANSWER_REUSE,
};

/// Silent outcomes that carry no evidence either way: no coverage (100), provider failure (101),
/// gateway not allowed (303), device timeout (305), address not in the operator's range (306,
/// typically Wi-Fi or a VPN), internal error (1000); and every CAMARA outcome that is not a
/// verdict (9001 to 9014, [`crate::camara_outcome`]).
pub const NO_EVIDENCE_ERRORS: &[i32] = &[
    100, 101, 303, 305, 306, 1000, 9001, 9002, 9003, 9004, 9010, 9011, 9012, 9013, 9014,
];
/// Infobip's SIM-swap errors: a PIN would go to whoever holds the new SIM.
pub const SIM_SWAP_ERRORS: &[i32] = &[309, 310];
/// Waits before each resend: the first resend after 30 s, then 60 s, then 120 s.
pub const RESEND_WAITS: [Duration; 3] = [
    Duration::from_secs(30),
    Duration::from_secs(60),
    Duration::from_secs(120),
];
/// How long a sent PIN can be entered: the most the 2FA application should allow
/// (`pinTimeToLive`, which `smv-local infobip-setup` sets from it; OWASP ASVS 6.5.5). The
/// simulator applies it too.
pub const PIN_LIFETIME: Duration = Duration::from_secs(600);
/// The attempts the 2FA application allows per PIN (`pinAttempts`, set by `smv-local
/// infobip-setup`, applied by the simulator; OWASP ASVS 6.5): `PIN_MAX_ATTEMPTS` caps ours.
pub const TWOFA_PIN_ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Voice,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Sms, Channel::Voice];

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sms" => Some(Self::Sms),
            "voice" => Some(Self::Voice),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "voice",
        }
    }

    /// The RFC 8176 authentication method reference: `sms`, or `tel` for a voice call.
    pub fn amr(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Voice => "tel",
        }
    }
}

/// How a VALID verification was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Silent(SilentMethod),
    Pin(Channel),
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Silent(method) => method.as_str(),
            Self::Pin(channel) => channel.as_str(),
        }
    }

    /// RFC 8176 values for the assertion's `amr` after a PIN; ours for the silent methods (no
    /// registered value names them).
    pub fn amr(self) -> &'static str {
        match self {
            Self::Silent(method) => method.amr(),
            Self::Pin(channel) => channel.amr(),
        }
    }
}

/// A PIN as the user typed it: 4 to 10 digits (the 2FA message template is NUMERIC). Never
/// logged, never stored; its `Debug` is redacted.
pub struct Pin(SecretString);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pin must be the 4 to 10 digits that were sent")]
pub struct InvalidPin;

impl Pin {
    pub fn parse(raw: &str) -> Result<Self, InvalidPin> {
        let raw = raw.trim();
        if !(4..=10).contains(&raw.len()) || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidPin);
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// Infobip's id of a sent PIN: kept server-side only, never accepted from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinId(String);

impl PinId {
    /// Infobip's ids are opaque short strings (hex today); anything else is not one. No `.` nor
    /// `/`: the id becomes a path segment of the next 2FA call, and must stay one.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = (1..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where and when a PIN is offered (`FALLBACK_*`): what the start and the poll both read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferPolicy {
    /// ISO 3166 alpha-2 codes; empty turns fallback off (SMS pumping goes where it is allowed).
    pub countries: Vec<String>,
    /// A PENDING verification may fall back once it is this old.
    pub after: Duration,
    pub on_invalid: bool,
    /// The channels a PIN may go by (`FALLBACK_CHANNELS`): voice is the usual toll-fraud vector.
    pub channels: Vec<Channel>,
}

impl OfferPolicy {
    pub fn offers(&self, channel: Channel) -> bool {
        self.channels.contains(&channel)
    }

    pub fn is_on(&self) -> bool {
        !self.countries.is_empty()
    }

    pub fn allows_country(&self, country: Option<&str>) -> bool {
        country.is_some_and(|c| self.countries.iter().any(|allowed| allowed == c))
    }
}

/// How PINs are sent and checked (`PIN_*`): the start function's alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinPolicy {
    pub max_sends: u32,
    pub max_attempts: u32,
}

impl PinPolicy {
    /// The wait before the next send, after `sends` sends.
    pub fn resend_wait(sends: u32) -> Duration {
        let index = (sends.max(1) - 1) as usize;
        RESEND_WAITS[index.min(RESEND_WAITS.len() - 1)]
    }
}

/// Why a fallback cannot start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Silent verification may still answer: wait for the result or the fallback deadline.
    Pending,
    /// The number is positively not this device's SIM (and FALLBACK_ON_INVALID is off).
    Invalid,
    /// VALID, expired, or an error that is not ours to paper over.
    Final,
    /// A swapped SIM (Infobip's 309/310 or our own check): never a PIN.
    SimSwap,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Invalid => "invalid",
            Self::Final => "final",
            Self::SimSwap => "sim-swap",
        }
    }
}

/// Why a PIN cannot be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinRefusal {
    /// No PIN was sent for this verification (or its send is still under way).
    NotSent,
    /// No attempts left, expired, or the verification ended (a late INVALID, a SIM swap, VALID
    /// by silent verification).
    Expired,
}

/// Whether a silent ERROR says nothing about the number (so a PIN may stand in).
pub fn is_no_evidence(error_id: i32) -> bool {
    NO_EVIDENCE_ERRORS.contains(&error_id)
}

/// Whether a silent ERROR is a sign of a swapped SIM (so no PIN, ever).
pub fn is_sim_swap(error_id: i32) -> bool {
    SIM_SWAP_ERRORS.contains(&error_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_digits_and_never_print() {
        assert!(Pin::parse("123456").is_ok());
        for bad in ["", "123", "12345678901", "12a456", "１２３４５６"] {
            assert_eq!(Pin::parse(bad).unwrap_err(), InvalidPin, "{bad}");
        }
        assert!(!format!("{:?}", Pin::parse("123456").unwrap()).contains("123456"));
    }

    #[test]
    fn a_pin_id_is_one_path_segment() {
        assert!(PinId::parse("9C817C6F8AF3D48F9FE553282AFA2B67").is_some());
        for bad in ["", "..", "a/b", "a.b", "a?b", &"a".repeat(129)] {
            assert!(PinId::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn resends_wait_longer_each_time() {
        let waits: Vec<u64> = (1..=5)
            .map(|sends| PinPolicy::resend_wait(sends).as_secs())
            .collect();
        assert_eq!(waits, [30, 60, 120, 120, 120]);
    }

    #[test]
    fn methods_name_their_rfc_8176_values() {
        assert_eq!(Method::Pin(Channel::Sms).amr(), "sms");
        assert_eq!(Method::Pin(Channel::Voice).amr(), "tel");
        assert_eq!(Method::Silent(SilentMethod::Smv).as_str(), "silent");
        assert_eq!(Method::Silent(SilentMethod::Smv).amr(), "smv");
        assert_eq!(Method::Silent(SilentMethod::Camara).amr(), "camara");
        assert_eq!(Method::Silent(SilentMethod::Sim).amr(), "camara-sim");
    }
}
