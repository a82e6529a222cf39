//! The identifiers of a verification: Infobip's token, or ours for CAMARA (public, names the
//! verification) and our
//! URL secrets (private: the callback URL's proves that a callback comes from whoever we gave the
//! URL to; the return URL's, that a device came back from the carrier step).

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Infobip's verification token: a UUID, kept in lowercase hyphenated form so that the same
/// verification never has two spellings in storage.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a token is a UUID such as 123e4567-e89b-12d3-a456-426655440000")]
pub struct InvalidToken;

impl Token {
    pub fn parse(raw: &str) -> Result<Self, InvalidToken> {
        // Only the 36-character hyphenated form: braces, URNs and the bare 32-digit form would
        // give one verification several names.
        if raw.len() != 36 {
            return Err(InvalidToken);
        }
        let uuid = uuid::Uuid::try_parse(raw).map_err(|_| InvalidToken)?;
        Ok(Self(uuid.hyphenated().to_string()))
    }

    /// A token of ours, for a method where Infobip names none (CAMARA): a random (version 4)
    /// UUID, indistinguishable in form from Infobip's.
    pub fn generate() -> Result<Self, RandomnessUnavailable> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| RandomnessUnavailable(e.to_string()))?;
        let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        Ok(Self(uuid.hyphenated().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.0)
    }
}

const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43; // base64url of 32 bytes, no padding

/// A per-verification secret carried in a URL we hand out (the callback URL, the return URL):
/// 256 bits, never stored or logged, only its [`SecretHash`]. Infobip signs nothing, so knowing
/// the callback URL's is the only proof that a callback is genuine.
#[derive(Clone)]
pub struct UrlSecret(SecretString);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the path does not carry a well-formed secret")]
pub struct InvalidSecret;

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomnessUnavailable(pub String);

impl UrlSecret {
    /// 256 bits from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, RandomnessUnavailable> {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| RandomnessUnavailable(e.to_string()))?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes).into()))
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidSecret> {
        if raw.len() != SECRET_CHARS {
            return Err(InvalidSecret);
        }
        match URL_SAFE_NO_PAD.decode(raw) {
            Ok(bytes) if bytes.len() == SECRET_BYTES => Ok(Self(raw.into())),
            _ => Err(InvalidSecret),
        }
    }

    /// The value to put in the callback URL's path.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(hex::encode(Sha256::digest(self.expose().as_bytes())))
    }
}

impl fmt::Debug for UrlSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UrlSecret(<redacted>)")
    }
}

/// SHA-256 of a callback secret, hex encoded. The secret has 256 bits of entropy, so a plain
/// hash (no salt, no stretching) cannot be reversed by guessing.
#[derive(Clone, Debug)]
pub struct SecretHash(String);

/// In constant time: a callback's hash is compared with the stored one.
impl PartialEq for SecretHash {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretHash {}

impl std::hash::Hash for SecretHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl SecretHash {
    pub fn from_stored(hex_digest: String) -> Option<Self> {
        let well_formed = hex_digest.len() == 64
            && hex_digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        well_formed.then_some(Self(hex_digest))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_normalised_to_lowercase_hyphenated() {
        let token = Token::parse("123E4567-E89B-12D3-A456-426655440000").unwrap();
        assert_eq!(token.as_str(), "123e4567-e89b-12d3-a456-426655440000");
    }

    #[test]
    fn generated_tokens_parse_as_themselves_and_differ() {
        let a = Token::generate().unwrap();
        assert_eq!(Token::parse(a.as_str()).unwrap(), a);
        assert_ne!(a, Token::generate().unwrap());
    }

    #[test]
    fn token_rejects_other_uuid_spellings_and_junk() {
        for raw in [
            "",
            "123e4567e89b12d3a456426655440000",
            "{123e4567-e89b-12d3-a456-426655440000}",
            "urn:uuid:123e4567-e89b-12d3-a456-426655440000",
            "parked#123e4567-e89b-12d3-a456-42665544",
            "123e4567-e89b-12d3-a456-42665544000g",
        ] {
            assert_eq!(Token::parse(raw), Err(InvalidToken), "{raw}");
        }
    }

    #[test]
    fn generated_secrets_are_distinct_and_parse_back() {
        let a = UrlSecret::generate().unwrap();
        let b = UrlSecret::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(UrlSecret::parse(a.expose()).unwrap().expose(), a.expose());
        assert_eq!(a.expose().len(), SECRET_CHARS);
    }

    #[test]
    fn secret_rejects_wrong_length_and_alphabet() {
        let good = UrlSecret::generate().unwrap();
        let short = &good.expose()[..42];
        let bad_char = format!("{}+", &good.expose()[..42]);
        assert!(UrlSecret::parse(short).is_err());
        assert!(UrlSecret::parse(&bad_char).is_err());
        assert!(UrlSecret::parse("").is_err());
    }

    #[test]
    fn secret_never_shows_in_debug_output() {
        let secret = UrlSecret::generate().unwrap();
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }

    #[test]
    fn hash_is_sha256_hex_and_round_trips_from_storage() {
        let secret = UrlSecret::generate().unwrap();
        let hash = secret.hash();
        assert_eq!(hash.as_str().len(), 64);
        assert_eq!(
            SecretHash::from_stored(hash.as_str().to_owned()),
            Some(hash)
        );
        assert_eq!(SecretHash::from_stored("xyz".into()), None);
    }
}
