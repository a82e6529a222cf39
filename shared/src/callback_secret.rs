//! The key that tags callback URL secrets (`CALLBACK_SECRET_KEY`). A callback for a token we do
//! not know yet may be genuine (the Brazil race: Infobip calls back before the start has stored
//! the verification) and is then kept for the start; the tag tells such a callback from a forged
//! one without a storage call, so a flood of forged callbacks writes nothing. The key is its own,
//! not the phone hash key: the callback function needs it, and nothing else it could compute.

use crate::keys::FromSecret;
use crate::server_key::{KeyTooShort, ServerKey};
use crate::token::{RandomnessUnavailable, UrlSecret};

const CALLBACK_LABEL: &str = "smv callback url";

#[derive(Debug, Clone)]
pub struct CallbackKey(ServerKey);

impl CallbackKey {
    pub fn new(key: Vec<u8>) -> Result<Self, KeyTooShort> {
        ServerKey::new(key).map(Self)
    }

    /// A new secret for one verification's callback URL.
    pub fn issue(&self) -> Result<UrlSecret, RandomnessUnavailable> {
        self.0.issue_secret(CALLBACK_LABEL)
    }

    /// Whether `secret` was issued under this key.
    pub fn issued(&self, secret: &UrlSecret) -> bool {
        self.0.issued(secret, CALLBACK_LABEL)
    }
}

impl FromSecret for CallbackKey {
    fn from_secret(raw: &str) -> Result<Self, String> {
        Self::new(raw.as_bytes().to_vec()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_callback_secrets_issued_under_the_key_are_recognised() {
        let key = CallbackKey::new(vec![1; 32]).unwrap();
        let issued = key.issue().unwrap();
        assert!(key.issued(&issued));
        assert!(!CallbackKey::new(vec![2; 32]).unwrap().issued(&issued));
        assert!(!key.issued(&UrlSecret::generate().unwrap()));
    }
}
