//! What binds a verification to whoever started it, so that only they can turn its result into
//! an assertion: a PKCE challenge (RFC 7636, S256 only) and the relying party's nonce.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What the starter binds the verification to (PKCE and the relying party's nonce). Without it
/// a verification can never yield an assertion.
#[derive(Debug, Clone)]
pub struct StartBinding {
    pub challenge: CodeChallenge,
    pub nonce: Option<Nonce>,
}

/// BASE64URL(SHA-256(verifier)), without padding: 43 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

/// The client's secret behind a challenge: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub struct CodeVerifier(String);

/// The relying party's value, echoed in the assertion: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBinding {
    #[error("codeChallenge must be the base64url SHA-256 of the code verifier: 43 characters")]
    Challenge,
    #[error("codeChallengeMethod must be S256 (plain is not accepted)")]
    Method,
    #[error("codeChallengeMethod and nonce are only read with a codeChallenge")]
    WithoutChallenge,
    #[error("codeVerifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'")]
    Verifier,
    #[error("nonce must be 1 to 255 visible ASCII characters")]
    Nonce,
}

impl CodeChallenge {
    pub fn parse(raw: &str, method: Option<&str>) -> Result<Self, InvalidBinding> {
        // RFC 7636 makes a missing method `plain`; a challenge of 43 base64url characters that
        // decodes to 32 bytes is an S256 challenge either way, and `plain` itself is refused.
        match method {
            None | Some("S256") => {}
            Some(_) => return Err(InvalidBinding::Method),
        }
        let decodes_to_a_digest = URL_SAFE_NO_PAD
            .decode(raw)
            .is_ok_and(|bytes| bytes.len() == 32);
        if raw.len() != 43 || !decodes_to_a_digest {
            return Err(InvalidBinding::Challenge);
        }
        Ok(Self(raw.to_owned()))
    }

    /// For storage; read back with [`CodeChallenge::from_stored`].
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        Self::parse(raw, None).ok()
    }

    /// In constant time: a verifier that almost matches learns nothing from the answer's timing.
    pub fn is_met_by(&self, verifier: &CodeVerifier) -> bool {
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes()));
        computed.as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}

impl CodeVerifier {
    pub fn parse(raw: &str) -> Result<Self, InvalidBinding> {
        let unreserved = |b: &u8| b.is_ascii_alphanumeric() || b"-._~".contains(b);
        if !(43..=128).contains(&raw.len()) || !raw.as_bytes().iter().all(unreserved) {
            return Err(InvalidBinding::Verifier);
        }
        Ok(Self(raw.to_owned()))
    }
}

impl Nonce {
    pub fn parse(raw: &str) -> Result<Self, InvalidBinding> {
        let visible = raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if raw.is_empty() || raw.len() > 255 || !visible {
            return Err(InvalidBinding::Nonce);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 7636 Appendix B's example: a verifier and its S256 challenge, for the tests and the
/// benchmarks (never for a real start).
pub mod rfc7636_example {
    pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_test_vector_matches() {
        let challenge = CodeChallenge::parse(rfc7636_example::CHALLENGE, Some("S256")).unwrap();
        let verifier = CodeVerifier::parse(rfc7636_example::VERIFIER).unwrap();
        assert!(challenge.is_met_by(&verifier));
        let other = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl").unwrap();
        assert!(!challenge.is_met_by(&other));
    }

    #[test]
    fn plain_and_malformed_challenges_are_refused() {
        let good = rfc7636_example::CHALLENGE;
        assert_eq!(
            CodeChallenge::parse(good, Some("plain")),
            Err(InvalidBinding::Method)
        );
        assert_eq!(
            CodeChallenge::parse(good, Some("s256")),
            Err(InvalidBinding::Method)
        );
        assert!(CodeChallenge::parse(good, None).is_ok());
        for bad in ["", "short", &format!("{good}A"), &good.replace('E', "+")] {
            assert_eq!(
                CodeChallenge::parse(bad, Some("S256")),
                Err(InvalidBinding::Challenge),
                "{bad}"
            );
        }
    }

    #[test]
    fn verifiers_and_nonces_have_their_alphabets_and_lengths() {
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(CodeVerifier::parse(&"~".repeat(128)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert!(CodeVerifier::parse(&format!("{}+", "a".repeat(43))).is_err());
        assert!(Nonce::parse("n-0S6_WzA2Mj").is_ok());
        assert!(Nonce::parse(&"x".repeat(255)).is_ok());
        for bad in ["", "two words", "tab\t", "é"] {
            assert!(Nonce::parse(bad).is_err(), "{bad}");
        }
        assert!(Nonce::parse(&"x".repeat(256)).is_err());
    }
}
