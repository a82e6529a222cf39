//! Our keys in AWS Secrets Manager: `GetSecretValue` of a secret's `AWSCURRENT` and
//! `AWSPREVIOUS` versions, side by side (one round trip of latency). A secret never rotated has no
//! `AWSPREVIOUS`.

use async_trait::async_trait;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use crate::keys::{SecretError, SecretSource, Versions};

pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManager {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }

    async fn version(&self, id: &str, stage: &str) -> Result<Option<String>, SecretError> {
        let answer = self
            .client
            .get_secret_value()
            .secret_id(id)
            .version_stage(stage)
            .send()
            .await;
        match answer {
            Ok(output) => match output.secret_string {
                Some(text) => Ok(Some(text)),
                None => Err(SecretError::Unusable {
                    id: id.to_owned(),
                    problem: "its value is binary, not text".into(),
                }),
            },
            // No version carries the stage (AWSPREVIOUS before a first rotation).
            Err(e)
                if stage != "AWSCURRENT"
                    && matches!(
                        e.as_service_error(),
                        Some(GetSecretValueError::ResourceNotFoundException(_))
                    ) =>
            {
                Ok(None)
            }
            Err(e) => Err(SecretError::Unavailable {
                id: id.to_owned(),
                cause: Box::new(e),
            }),
        }
    }
}

#[async_trait]
impl SecretSource for SecretsManager {
    async fn versions(&self, id: &str) -> Result<Versions, SecretError> {
        let (current, previous) = tokio::join!(
            self.version(id, "AWSCURRENT"),
            self.version(id, "AWSPREVIOUS")
        );
        let current = current?.ok_or_else(|| SecretError::Unusable {
            id: id.to_owned(),
            problem: "it has no AWSCURRENT version".into(),
        })?;
        Ok(Versions {
            current,
            previous: previous?,
        })
    }
}
