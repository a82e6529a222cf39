//! A P-256 key held by the process: generated at start, or read from a PKCS#8 PEM file. For
//! `smv-local` and the tests; deployed functions sign with KMS.

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::{Jwk, SignError, Signer};

pub struct LocalSigner {
    key: EcdsaKeyPair,
    jwk: Jwk,
    rng: SystemRandom,
}

impl LocalSigner {
    pub fn generate() -> Result<Self, SignError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| SignError::WrongKey("could not generate a P-256 key".into()))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// A `-----BEGIN PRIVATE KEY-----` file (PKCS#8), as `openssl genpkey -algorithm EC
    /// -pkeyopt ec_paramgen_curve:P-256` writes it.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, SignError> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != "-----BEGIN PRIVATE KEY-----")
            .skip(1)
            .take_while(|l| *l != "-----END PRIVATE KEY-----")
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| SignError::WrongKey("not a PKCS#8 PEM private key".into()))?;
        Self::from_pkcs8(&der)
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, SignError> {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| SignError::WrongKey(format!("not a P-256 PKCS#8 key ({e})")))?;
        let jwk = Jwk::from_uncompressed(key.public_key().as_ref())
            .ok_or_else(|| SignError::WrongKey("not a P-256 key".into()))?;
        Ok(Self { key, jwk, rng })
    }
}

#[async_trait]
impl Signer for LocalSigner {
    async fn keys(&self) -> Result<Vec<Jwk>, SignError> {
        Ok(vec![self.jwk.clone()])
    }

    async fn signing_key(&self) -> Result<Jwk, SignError> {
        Ok(self.jwk.clone())
    }

    async fn sign(&self, input: &[u8]) -> Result<[u8; 64], SignError> {
        let signature = self
            .key
            .sign(&self.rng, input)
            .map_err(|_| SignError::Unavailable("the local key could not sign".into()))?;
        signature
            .as_ref()
            .try_into()
            .map_err(|_| SignError::WrongKey("not a 64-byte ES256 signature".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assertion::der;
    use ring::signature::{
        UnparsedPublicKey, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED,
    };

    /// KMS returns DER; ring can too. Every DER length ECDSA produces (70 to 72 bytes, and
    /// shorter now and then) converts to an R‖S that verifies.
    #[test]
    fn der_signatures_of_every_length_convert_to_verifying_r_s() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key().as_ref());
        let mut lengths = std::collections::BTreeSet::new();
        for i in 0..400u32 {
            let message = i.to_be_bytes();
            let signature = key.sign(&rng, &message).unwrap();
            lengths.insert(signature.as_ref().len());
            let fixed = der::to_fixed(signature.as_ref()).expect("ring's DER parses");
            public.verify(&message, &fixed).expect("R‖S verifies");
        }
        assert!(
            lengths.contains(&70) && lengths.contains(&71),
            "{lengths:?}"
        );
    }

    #[tokio::test]
    async fn a_pem_key_signs_and_publishes_its_public_half() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        let signer = LocalSigner::from_pkcs8_pem(&pem).unwrap();
        let jwk = &signer.keys().await.unwrap()[0];
        let signature = signer.sign(b"input").await.unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, jwk.uncompressed())
            .verify(b"input", &signature)
            .unwrap();
        assert!(LocalSigner::from_pkcs8_pem("not a key").is_err());
    }
}
