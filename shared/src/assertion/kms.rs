//! Signing with an AWS KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`): `Sign` with `ECDSA_SHA_256`
//! over the RAW message, the DER signature turned into R‖S. The public keys come from
//! `GetPublicKey` once per process (CloudFormation cannot expose them).

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use tokio::sync::OnceCell;

use super::{der, Jwk, SignError, Signer};

pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    /// The signing key's ARN; signing with an alias could switch keys between `kid` and signature.
    key_id: String,
    /// Published beside it (the next key during a rotation, or the previous one until its
    /// assertions have expired); never used to sign.
    published: Vec<String>,
    keys: OnceCell<Vec<Jwk>>,
}

impl KmsSigner {
    pub fn new(client: aws_sdk_kms::Client, key_id: String, published: Vec<String>) -> Self {
        Self {
            client,
            key_id,
            published,
            keys: OnceCell::new(),
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
    async fn keys(&self) -> Result<Vec<Jwk>, SignError> {
        let keys = self
            .keys
            .get_or_try_init(|| async {
                let mut keys = vec![self.public_key(&self.key_id).await?];
                for key_id in &self.published {
                    keys.push(self.public_key(key_id).await?);
                }
                Ok::<_, SignError>(keys)
            })
            .await?;
        Ok(keys.clone())
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
            .map_err(|e| SignError::Unavailable(Box::new(e)))?;
        let signature = output
            .signature
            .ok_or_else(|| SignError::WrongKey("KMS returned no signature".into()))?;
        der::to_fixed(signature.as_ref())
            .ok_or_else(|| SignError::WrongKey("KMS returned no P-256 DER signature".into()))
    }
}
