//! Parked callbacks, keyed `parked#{secret hash}#{token}`: a key space a verification's UUID
//! cannot meet, and that only the start holding the secret can name.

use async_trait::async_trait;

use super::item::*;
use super::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
use crate::store::{ParkedCallbacks, StoreError};
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::ParkedCallback;

const PARKED_TOKEN: &str = "parkedToken";

fn key(secret_hash: &SecretHash, token: &Token) -> String {
    format!("parked#{}#{}", secret_hash.as_str(), token.as_str())
}

fn from_item(item: &Item) -> Result<ParkedCallback, StoreError> {
    let token = Token::parse(get_s(item, PARKED_TOKEN)?)
        .map_err(|_| StoreError::Corrupt("parkedToken is not a UUID".into()))?;
    let result = result_from_item(item)?
        .ok_or_else(|| StoreError::Corrupt("a parked callback has no result".into()))?;
    Ok(ParkedCallback {
        token,
        secret_hash: secret_hash_from_item(item)?,
        result,
        received_at: Timestamp::from_millis(get_n(item, CREATED_AT)?),
        expires_at: get_timestamp_secs(item, TTL_ATTRIBUTE)?,
    })
}

#[async_trait]
impl ParkedCallbacks for DynamoDbStore {
    async fn park(&self, callback: &ParkedCallback) -> Result<(), StoreError> {
        let mut item = Item::from([
            (
                TABLE_KEY.into(),
                s(&key(&callback.secret_hash, &callback.token)),
            ),
            (PARKED_TOKEN.into(), s(callback.token.as_str())),
            (SECRET_HASH.into(), s(callback.secret_hash.as_str())),
            (CREATED_AT.into(), n(callback.received_at.as_millis())),
            (TTL_ATTRIBUTE.into(), n(ttl_secs(callback.expires_at))),
        ]);
        put_result(&mut item, &callback.result);
        // Not written: the first callback for this secret and token is already kept (first wins).
        self.put_if_absent(item, callback.received_at).await?;
        Ok(())
    }

    async fn find_parked(
        &self,
        secret_hash: &SecretHash,
        token: &Token,
        now: Timestamp,
    ) -> Result<Option<ParkedCallback>, StoreError> {
        match self.get_consistent(&key(secret_hash, token)).await? {
            None => Ok(None),
            Some(item) => {
                let parked = from_item(&item)?;
                Ok((now < parked.expires_at).then_some(parked))
            }
        }
    }
}
