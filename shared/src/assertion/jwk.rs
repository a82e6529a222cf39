//! P-256 public keys as JWKs (RFC 7517), each named by its RFC 7638 thumbprint: a `kid` that
//! says nothing about the account and is the same wherever the key is published.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// DER SubjectPublicKeyInfo of a P-256 key up to the point: `id-ecPublicKey`, `prime256v1`, a
/// 66-byte BIT STRING. What follows is the uncompressed point (what KMS's GetPublicKey returns).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    x: [u8; 32],
    y: [u8; 32],
    /// Computed once: every assertion's header carries it.
    kid: String,
}

/// The RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
fn thumbprint(x: &[u8; 32], y: &[u8; 32]) -> String {
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x),
        URL_SAFE_NO_PAD.encode(y)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

impl Jwk {
    /// From `04 ‖ x ‖ y`.
    pub fn from_uncompressed(point: &[u8]) -> Option<Self> {
        let [0x04, coordinates @ ..] = point else {
            return None;
        };
        if coordinates.len() != 64 {
            return None;
        }
        let x: [u8; 32] = coordinates[..32].try_into().ok()?;
        let y: [u8; 32] = coordinates[32..].try_into().ok()?;
        Some(Self {
            kid: thumbprint(&x, &y),
            x,
            y,
        })
    }

    /// From DER SubjectPublicKeyInfo; `None` for any key but P-256.
    pub fn from_spki_der(der: &[u8]) -> Option<Self> {
        Self::from_uncompressed(der.strip_prefix(&P256_SPKI_PREFIX)?)
    }

    /// The RFC 7638 thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The `04 ‖ x ‖ y` form, for verifiers that take raw points.
    #[cfg(test)]
    pub fn uncompressed(&self) -> Vec<u8> {
        [&[0x04][..], &self.x, &self.y].concat()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(self.x),
            "y": URL_SAFE_NO_PAD.encode(self.y),
            "kid": self.kid(),
            "use": "sig",
            "alg": "ES256",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7517 Appendix A.1's example key; the thumbprint computed apart from this code, with
        // Python's hashlib over RFC 7638 §3's canonical JSON.
        let x = URL_SAFE_NO_PAD
            .decode("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU")
            .unwrap();
        let y = URL_SAFE_NO_PAD
            .decode("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")
            .unwrap();
        let point = [&[0x04][..], &x, &y].concat();
        let jwk = Jwk::from_uncompressed(&point).unwrap();
        assert_eq!(jwk.kid(), "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
        let json = jwk.to_json();
        assert_eq!(json["kty"], "EC");
        assert_eq!(json["crv"], "P-256");
        assert_eq!(json["alg"], "ES256");
        assert_eq!(json["use"], "sig");
        assert_eq!(json["x"], "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
    }

    #[test]
    fn only_p256_points_and_spki_are_read() {
        let point = [&[0x04][..], &[1; 64]].concat();
        let spki = [&P256_SPKI_PREFIX[..], &point].concat();
        assert_eq!(spki.len(), 91);
        assert_eq!(Jwk::from_spki_der(&spki), Jwk::from_uncompressed(&point));
        assert!(Jwk::from_spki_der(&spki).is_some());
        assert!(Jwk::from_uncompressed(&point[..64]).is_none());
        assert!(Jwk::from_uncompressed(&[&[0x02][..], &[1; 64]].concat()).is_none());
        let mut other_curve = spki.clone();
        other_curve[20] = 0x22;
        assert!(Jwk::from_spki_der(&other_curve).is_none());
    }
}
