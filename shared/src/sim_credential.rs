//! The SIM-based CAMARA flow's two values from the app: the device's Android carrier ids, named at
//! the start, and the `vp_token` its SIM answered the credential request with. The `vp_token` is
//! an SD-JWT whose last part, the key-binding JWT, carries the nonce we gave `/dcql`: that is
//! what ties the SIM's answer to one verification, so it is read (not trusted: Infobip checks the
//! signatures) before Infobip is asked.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use crate::infobip::camara::Correlator;
use crate::token::{SecretHash, UrlSecret};

/// A phone has at most a few SIMs; more ids than this is not a device's list.
pub const MAX_CARRIERS: usize = 8;

/// The device's Android carrier ids (`TelephonyManager.getSimCarrierId`), each once, in the
/// order the app gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierIds(Vec<u32>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCarrierIds {
    #[error("carrierIds names no carrier")]
    Empty,
    #[error("carrierIds names more than {MAX_CARRIERS} carriers")]
    TooMany,
    #[error("carrierIds holds 0, which Android uses for an unknown carrier")]
    Unknown,
}

impl CarrierIds {
    pub fn parse(ids: &[u32]) -> Result<Self, InvalidCarrierIds> {
        let mut unique: Vec<u32> = Vec::with_capacity(ids.len());
        for id in ids {
            if *id == 0 {
                return Err(InvalidCarrierIds::Unknown);
            }
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        match unique.len() {
            0 => Err(InvalidCarrierIds::Empty),
            n if n > MAX_CARRIERS => Err(InvalidCarrierIds::TooMany),
            _ => Ok(Self(unique)),
        }
    }

    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }
}

/// What the SIM answered, never stored or logged: its `Debug` says nothing of it.
pub struct VpToken {
    correlator: Correlator,
    nonce_hash: Option<SecretHash>,
}

impl VpToken {
    /// `None` for what cannot be sent to Infobip as `X-Correlator` (see [`Correlator::parse`]).
    pub fn parse(raw: &str) -> Option<Self> {
        Some(Self {
            correlator: Correlator::parse(raw)?,
            nonce_hash: key_binding_nonce(raw).map(|nonce| nonce.hash()),
        })
    }

    /// Whether the key-binding JWT carries the nonce whose hash is `expected`.
    pub fn answers(&self, expected: &SecretHash) -> bool {
        self.nonce_hash.as_ref() == Some(expected)
    }

    pub fn correlator(&self) -> &Correlator {
        &self.correlator
    }
}

impl fmt::Debug for VpToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VpToken(<redacted>)")
    }
}

/// The `nonce` claim of an SD-JWT's key-binding JWT: `<issuer JWT>~<disclosure>~…~<KB-JWT>`.
fn key_binding_nonce(vp_token: &str) -> Option<UrlSecret> {
    #[derive(Deserialize)]
    struct KeyBinding {
        nonce: String,
    }
    let (_, key_binding) = vp_token.rsplit_once('~')?;
    let mut parts = key_binding.split('.');
    let payload = parts.nth(1)?;
    let claims: KeyBinding = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    UrlSecret::parse(&claims.nonce).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "Xx4tPEtaaXiHlqW0w9Lh8DjIflOnQ2ZXQKLAyGix3gE";

    fn part(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn vp_token(nonce_claims: &str) -> String {
        let issued = format!(
            "{}.{}.sig",
            part(r#"{"alg":"ES256"}"#),
            part(r#"{"sub":"x"}"#)
        );
        let disclosure = part(r#"["salt","phone_number","+4915100000001"]"#);
        let key_binding = format!("{}.{}.sig", part(r#"{"typ":"kb+jwt"}"#), part(nonce_claims));
        format!("{issued}~{disclosure}~{key_binding}")
    }

    #[test]
    fn carrier_ids_are_a_devices_list() {
        assert_eq!(
            CarrierIds::parse(&[2020, 1, 2020]).unwrap().as_slice(),
            &[2020, 1]
        );
        assert_eq!(CarrierIds::parse(&[]), Err(InvalidCarrierIds::Empty));
        assert_eq!(CarrierIds::parse(&[0]), Err(InvalidCarrierIds::Unknown));
        let many: Vec<u32> = (1..=9).collect();
        assert_eq!(CarrierIds::parse(&many), Err(InvalidCarrierIds::TooMany));
    }

    #[test]
    fn the_key_binding_jwt_names_the_nonce_it_answers() {
        let ours = UrlSecret::parse(NONCE).unwrap().hash();
        let token = vp_token(&format!(r#"{{"nonce":"{NONCE}","aud":"x"}}"#));
        assert!(VpToken::parse(&token).unwrap().answers(&ours));

        let other = "Yx4tPEtaaXiHlqW0w9Lh8DjIflOnQ2ZXQKLAyGix3gE";
        let replayed = vp_token(&format!(r#"{{"nonce":"{other}"}}"#));
        assert!(!VpToken::parse(&replayed).unwrap().answers(&ours));
        // No key binding, or one without a nonce: it answers nothing of ours.
        for odd in [
            vp_token(r#"{"aud":"x"}"#),
            vp_token(r#"{"nonce":17}"#),
            NONCE.to_owned(),
            format!("a.b.c~{}", part(&format!(r#"{{"nonce":"{NONCE}"}}"#))),
        ] {
            assert!(!VpToken::parse(&odd).unwrap().answers(&ours), "{odd}");
        }
        assert!(VpToken::parse("").is_none());
        assert!(VpToken::parse("with space").is_none());
        assert_eq!(
            format!("{:?}", VpToken::parse(&token).unwrap()),
            "VpToken(<redacted>)"
        );
    }
}
