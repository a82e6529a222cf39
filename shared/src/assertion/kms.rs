//! Signing with an AWS KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`): `Sign` with `ECDSA_SHA_256`
//! over the RAW message, the DER signature turned into R‖S. The public keys come from
//! `GetPublicKey` once per process (CloudFormation cannot expose them).

use async_trait::async_trait;
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use std::sync::Mutex;

use tokio::sync::OnceCell;
use tracing::warn;

use super::{der, Jwk, SignError, Signer};

pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    /// The signing key's ARN; signing with an alias could switch keys between `kid` and signature.
    key_id: String,
    /// Published beside it (the next key during a rotation, or the previous one until its
    /// assertions have expired); never used to sign.
    published: Vec<String>,
    signing: OnceCell<Jwk>,
    /// Each published key once read; one that could not be read is asked for again next time.
    published_keys: Mutex<Vec<Option<Jwk>>>,
}

impl KmsSigner {
    pub fn new(client: aws_sdk_kms::Client, key_id: String, published: Vec<String>) -> Self {
        let unread = vec![None; published.len()];
        Self {
            client,
            key_id,
            published,
            signing: OnceCell::new(),
            published_keys: Mutex::new(unread),
        }
    }

    async fn public_key(&self, key_id: &str) -> Result<Jwk, SignError> {
        let output = self
            .client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| SignError::Unavailable(Box::new(e)))?;
        let der = output
            .public_key
            .ok_or_else(|| SignError::WrongKey(format!("{key_id} has no public key")))?;
        Jwk::from_spki_der(der.as_ref())
            .ok_or_else(|| SignError::WrongKey(format!("{key_id} is not an ECC_NIST_P256 key")))
    }
}

#[async_trait]
impl Signer for KmsSigner {
    async fn signing_key(&self) -> Result<Jwk, SignError> {
        let key = self
            .signing
            .get_or_try_init(|| self.public_key(&self.key_id))
            .await?;
        Ok(key.clone())
    }

    /// The signing key, then every published key that can be read: one that cannot (no
    /// `kms:GetPublicKey` on it, deleted, KMS throttling) is left out and logged, never a reason
    /// to serve no keys at all.
    async fn keys(&self) -> Result<Vec<Jwk>, SignError> {
        let mut keys = vec![self.signing_key().await?];
        let known = self.published_keys.lock().expect("not poisoned").clone();
        let mut read = Vec::with_capacity(known.len());
        for (key_id, known) in self.published.iter().zip(known) {
            let key = match known {
                Some(key) => Some(key),
                None => match self.public_key(key_id).await {
                    Ok(key) => Some(key),
                    Err(e) => {
                        warn!(key_id, error = %crate::error::chain(&e), "a published key could not be read: the JWKS goes without it");
                        None
                    }
                },
            };
            read.push(key);
        }
        keys.extend(read.iter().flatten().cloned());
        *self.published_keys.lock().expect("not poisoned") = read;
        Ok(keys)
    }

    async fn sign(&self, input: &[u8]) -> Result<[u8; 64], SignError> {
        let output = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(input))
            .message_type(MessageType::Raw)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("ThrottlingException") => SignError::Throttled(Box::new(e)),
                _ => SignError::Unavailable(Box::new(e)),
            })?;
        let signature = output
            .signature
            .ok_or_else(|| SignError::WrongKey("KMS returned no signature".into()))?;
        der::to_fixed(signature.as_ref())
            .ok_or_else(|| SignError::WrongKey("KMS returned no P-256 DER signature".into()))
    }
}
