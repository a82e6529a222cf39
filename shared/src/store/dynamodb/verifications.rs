//! Verifications, keyed by Infobip's token (a UUID).

use async_trait::async_trait;

use super::item::*;
use super::{DynamoDbStore, TABLE_KEY, TTL_ATTRIBUTE};
use crate::binding::{CodeChallenge, Nonce};
use crate::fallback::{Channel, FallbackState, PinId, PinPhase, PinState};
use crate::phone_hash::PhoneHash;
use crate::store::{StoreError, Verifications};
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::{
    Binding, Redemption, State, Verification, VerificationResult, MAX_REDEEM_FAILURES,
};

const PHONE: &str = "phone";
const PENDING_UNTIL: &str = "pendingUntil";
const COMPLETED_AT: &str = "completedAt";
const CODE_CHALLENGE: &str = "codeChallenge";
const NONCE: &str = "nonce";
const PHONE_HASH: &str = "phoneHash";
const RETURN_HASH: &str = "returnHash";
const REDEEM_FAILURES: &str = "redeemFailures";
const REDEEMED_AT: &str = "redeemedAt";
const VALID: &str = "VALID";
const VERSION: &str = "version";
const COUNTRY: &str = "country";
const SIM_SWAPPED: &str = "simSwapped";
const SIM_SWAP_CHECKED_AT: &str = "simSwapCheckedAt";
const PIN_CHANNEL: &str = "pinChannel";
const PIN_ID: &str = "pinId";
const PIN_SENDS: &str = "pinSends";
const PIN_FIRST_SENT_AT: &str = "pinFirstSentAt";
const PIN_LAST_SENT_AT: &str = "pinLastSentAt";
const PIN_ATTEMPTS: &str = "pinAttempts";
const PIN_STATE: &str = "pinState";
/// Written before `pinState` (records live at most `RECORD_TTL_SECONDS`): read, never written.
const LEGACY_PIN_DEAD: &str = "pinDead";
const LEGACY_PIN_VERIFIED: &str = "pinVerified";

fn to_item(v: &Verification) -> Item {
    let mut item = Item::from([
        (TABLE_KEY.into(), s(v.token.as_str())),
        (SECRET_HASH.into(), s(v.secret_hash.as_str())),
        (PHONE.into(), s(&v.phone_masked)),
        (CREATED_AT.into(), n(v.created_at.as_millis())),
        (PENDING_UNTIL.into(), n(v.pending_until.as_millis())),
        (TTL_ATTRIBUTE.into(), n(ttl_secs(v.expires_at))),
    ]);
    match &v.state {
        State::Pending => {
            item.insert(STATUS.into(), s(PENDING));
        }
        State::Completed { result, at } => {
            put_result(&mut item, result);
            item.insert(COMPLETED_AT.into(), n(at.as_millis()));
        }
    }
    if let Some(binding) = &v.binding {
        item.insert(CODE_CHALLENGE.into(), s(binding.challenge.as_str()));
        item.insert(PHONE_HASH.into(), s(binding.phone_hash.as_str()));
        if let Some(nonce) = &binding.nonce {
            item.insert(NONCE.into(), s(nonce.as_str()));
        }
        if let Some(hash) = &binding.return_hash {
            item.insert(RETURN_HASH.into(), s(hash.as_str()));
        }
    }
    if v.redemption.failures > 0 {
        item.insert(REDEEM_FAILURES.into(), n(v.redemption.failures));
    }
    if let Some(at) = v.redemption.redeemed_at {
        item.insert(REDEEMED_AT.into(), n(at.as_millis()));
    }
    item.insert(VERSION.into(), n(v.version));
    if let Some(country) = &v.country {
        item.insert(COUNTRY.into(), s(country));
    }
    if v.fallback.sim_swapped {
        item.insert(SIM_SWAPPED.into(), n(1));
    }
    if let Some(at) = v.fallback.sim_swap_checked_at {
        item.insert(SIM_SWAP_CHECKED_AT.into(), n(at.as_millis()));
    }
    if let Some(pin) = &v.fallback.pin {
        item.insert(PIN_CHANNEL.into(), s(pin.channel.as_str()));
        item.insert(PIN_STATE.into(), s(pin.phase.as_str()));
        if let PinPhase::Live(id) = &pin.phase {
            item.insert(PIN_ID.into(), s(id.as_str()));
        }
        item.insert(PIN_SENDS.into(), n(pin.sends));
        item.insert(PIN_FIRST_SENT_AT.into(), n(pin.first_sent_at.as_millis()));
        item.insert(PIN_LAST_SENT_AT.into(), n(pin.last_sent_at.as_millis()));
        item.insert(PIN_ATTEMPTS.into(), n(pin.attempts));
    }
    item
}

fn fallback_from_item(item: &Item) -> Result<FallbackState, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} is malformed"));
    let pin = match optional_s(item, PIN_CHANNEL)? {
        None => None,
        Some(channel) => Some(PinState {
            channel: Channel::parse(channel).ok_or_else(|| corrupt(PIN_CHANNEL))?,
            sends: get_n(item, PIN_SENDS)?,
            first_sent_at: Timestamp::from_millis(get_n(item, PIN_FIRST_SENT_AT)?),
            last_sent_at: Timestamp::from_millis(get_n(item, PIN_LAST_SENT_AT)?),
            attempts: get_n(item, PIN_ATTEMPTS)?,
            phase: pin_phase_from_item(item)?,
        }),
    };
    // VALID by PIN is the PIN's phase; the status says VALID too, for the redeem's condition.
    let verified = pin.as_ref().is_some_and(|p| p.phase == PinPhase::Verified);
    if verified && get_s(item, STATUS)? != VALID {
        return Err(corrupt(PIN_STATE));
    }
    Ok(FallbackState {
        sim_swapped: flag(item, SIM_SWAPPED)?,
        sim_swap_checked_at: match item.get(SIM_SWAP_CHECKED_AT) {
            None => None,
            Some(_) => Some(Timestamp::from_millis(get_n(item, SIM_SWAP_CHECKED_AT)?)),
        },
        pin,
    })
}

fn pin_phase_from_item(item: &Item) -> Result<PinPhase, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} is malformed"));
    let pin_id = || -> Result<PinId, StoreError> {
        PinId::parse(get_s(item, PIN_ID)?).ok_or_else(|| corrupt(PIN_ID))
    };
    Ok(match optional_s(item, PIN_STATE)? {
        Some("sending") => PinPhase::Sending,
        Some("live") => PinPhase::Live(pin_id()?),
        Some("dead") => PinPhase::Dead,
        Some("verified") => PinPhase::Verified,
        Some(_) => return Err(corrupt(PIN_STATE)),
        // Written by the code before: flags beside an optional id.
        None if flag(item, LEGACY_PIN_VERIFIED)? => PinPhase::Verified,
        None if flag(item, LEGACY_PIN_DEAD)? => PinPhase::Dead,
        None if item.contains_key(PIN_ID) => PinPhase::Live(pin_id()?),
        None => PinPhase::Sending,
    })
}

/// A 0/1 number attribute; absent is 0.
fn flag(item: &Item, name: &str) -> Result<bool, StoreError> {
    match item.get(name) {
        None => Ok(false),
        Some(_) => Ok(get_n::<u8>(item, name)? != 0),
    }
}

fn optional_s<'i>(item: &'i Item, name: &str) -> Result<Option<&'i str>, StoreError> {
    match item.get(name) {
        None => Ok(None),
        Some(_) => get_s(item, name).map(Some),
    }
}

fn binding_from_item(item: &Item) -> Result<Option<Binding>, StoreError> {
    let Some(challenge) = optional_s(item, CODE_CHALLENGE)? else {
        return Ok(None);
    };
    let corrupt = |what: &str| StoreError::Corrupt(format!("{what} is malformed"));
    Ok(Some(Binding {
        challenge: CodeChallenge::from_stored(challenge).ok_or_else(|| corrupt(CODE_CHALLENGE))?,
        nonce: optional_s(item, NONCE)?
            .map(|raw| Nonce::parse(raw).map_err(|_| corrupt(NONCE)))
            .transpose()?,
        phone_hash: PhoneHash::from_stored(get_s(item, PHONE_HASH)?)
            .ok_or_else(|| corrupt(PHONE_HASH))?,
        return_hash: optional_s(item, RETURN_HASH)?
            .map(|raw| SecretHash::from_stored(raw.to_owned()).ok_or_else(|| corrupt(RETURN_HASH)))
            .transpose()?,
    }))
}

fn redemption_from_item(item: &Item) -> Result<Redemption, StoreError> {
    Ok(Redemption {
        failures: match item.get(REDEEM_FAILURES) {
            None => 0,
            Some(_) => get_n(item, REDEEM_FAILURES)?,
        },
        redeemed_at: match item.get(REDEEMED_AT) {
            None => None,
            Some(_) => Some(Timestamp::from_millis(get_n(item, REDEEMED_AT)?)),
        },
    })
}

fn from_item(item: &Item) -> Result<Verification, StoreError> {
    let token = Token::parse(get_s(item, TABLE_KEY)?)
        .map_err(|_| StoreError::Corrupt("token is not a UUID".into()))?;
    let state = match result_from_item(item)? {
        None => State::Pending,
        Some(result) => State::Completed {
            result,
            at: Timestamp::from_millis(get_n(item, COMPLETED_AT)?),
        },
    };
    Ok(Verification {
        token,
        secret_hash: secret_hash_from_item(item)?,
        phone_masked: get_s(item, PHONE)?.to_owned(),
        created_at: Timestamp::from_millis(get_n(item, CREATED_AT)?),
        pending_until: Timestamp::from_millis(get_n(item, PENDING_UNTIL)?),
        expires_at: get_timestamp_secs(item, TTL_ATTRIBUTE)?,
        state,
        binding: binding_from_item(item)?,
        redemption: redemption_from_item(item)?,
        country: optional_s(item, COUNTRY)?.map(str::to_owned),
        fallback: fallback_from_item(item)?,
        // Written before versions existed: the first write makes it 1.
        version: match item.get(VERSION) {
            None => 0,
            Some(_) => get_n(item, VERSION)?,
        },
    })
}

#[async_trait]
impl Verifications for DynamoDbStore {
    async fn create(&self, verification: &Verification) -> Result<(), StoreError> {
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(verification)))
            .condition_expression("attribute_not_exists(#key)")
            .expression_attribute_names("#key", TABLE_KEY)
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::AlreadyExists),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn find(
        &self,
        token: &Token,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError> {
        match self.get_consistent(token.as_str()).await? {
            None => Ok(None),
            Some(item) => {
                let verification = from_item(&item)?;
                // TTL deletion is lazy: an expired item can be read for days after its TTL.
                Ok(verification.exists_at(now).then_some(verification))
            }
        }
    }

    async fn complete(
        &self,
        token: &Token,
        secret_hash: &SecretHash,
        result: &VerificationResult,
        now: Timestamp,
    ) -> Result<Option<Verification>, StoreError> {
        // The condition is Verification::accepts_result_from, stated for DynamoDB.
        let mut values = Item::from([
            (":pending".into(), s(PENDING)),
            (":hash".into(), s(secret_hash.as_str())),
            (":now_ms".into(), n(now.as_millis())),
            (":now_s".into(), now_secs(now)),
        ]);
        values.insert(":one".into(), n(1));
        let mut update = format!("SET {COMPLETED_AT} = :now_ms");
        let mut names = std::collections::HashMap::from([
            ("#ttl".to_owned(), TTL_ATTRIBUTE.to_owned()),
            ("#version".to_owned(), VERSION.to_owned()),
        ]);
        for (name, value) in result_attributes(result) {
            update.push_str(&format!(", #{name} = :{name}"));
            values.insert(format!(":{name}"), value);
            names.insert(format!("#{name}"), name.to_owned());
        }
        update.push_str(" ADD #version :one");
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(token.as_str()))
            .update_expression(update)
            .condition_expression(format!(
                "#{STATUS} = :pending AND {SECRET_HASH} = :hash AND {PENDING_UNTIL} > :now_ms AND #ttl > :now_s"
            ))
            .set_expression_attribute_names(Some(names));
        let outcome = request
            .set_expression_attribute_values(Some(values))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match outcome {
            Ok(output) => match output.attributes {
                Some(item) => from_item(&item).map(Some),
                None => Err(StoreError::Corrupt(
                    "UpdateItem returned no attributes".into(),
                )),
            },
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn redeem(&self, token: &Token, now: Timestamp) -> Result<bool, StoreError> {
        // The condition is Verification::accepts_redemption, stated for DynamoDB.
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(token.as_str()))
            .update_expression(format!("SET {REDEEMED_AT} = :now_ms ADD #version :one"))
            .condition_expression(format!(
                "#status = :valid AND attribute_exists({CODE_CHALLENGE}) \
                 AND attribute_not_exists({REDEEMED_AT}) \
                 AND (attribute_not_exists({REDEEM_FAILURES}) OR {REDEEM_FAILURES} < :max) \
                 AND #ttl > :now_s"
            ))
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":valid", s(VALID))
            .expression_attribute_values(":max", n(MAX_REDEEM_FAILURES))
            .expression_attribute_values(":now_ms", n(now.as_millis()))
            .expression_attribute_values(":now_s", now_secs(now))
            .send()
            .await;
        conditional(outcome, true, false)
    }

    async fn fail_redemption(&self, token: &Token, now: Timestamp) -> Result<(), StoreError> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(TABLE_KEY, s(token.as_str()))
            .update_expression(format!("ADD {REDEEM_FAILURES} :one, #version :one"))
            .condition_expression(format!(
                "attribute_exists(#key) AND attribute_not_exists({REDEEMED_AT}) AND #ttl > :now_s"
            ))
            .expression_attribute_names("#key", TABLE_KEY)
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now_s", now_secs(now))
            .send()
            .await;
        conditional(outcome, (), ())
    }

    async fn replace(&self, read_version: u64, next: &Verification) -> Result<bool, StoreError> {
        let next = Verification {
            version: read_version + 1,
            ..next.clone()
        };
        // An item written before versions existed has none: it is at version 0.
        let condition = match read_version {
            0 => "attribute_exists(#key) AND (attribute_not_exists(#version) OR #version = :read)",
            _ => "#version = :read",
        };
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&next)))
            .condition_expression(condition)
            .expression_attribute_names("#version", VERSION)
            .expression_attribute_values(":read", n(read_version));
        if read_version == 0 {
            request = request.expression_attribute_names("#key", TABLE_KEY);
        }
        conditional(request.send().await, true, false)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;
    use crate::token::UrlSecret;
    use crate::verification::{ErrorInfo, Lifetimes};

    #[test]
    fn items_round_trip_in_every_state() {
        let now = Timestamp::from_millis(1_795_000_000_000);
        let lifetimes = Lifetimes {
            pending_timeout: Duration::from_secs(300),
            record_lifetime: Duration::from_secs(3600),
        };
        let token = Token::parse("123e4567-e89b-12d3-a456-426655440000").unwrap();
        let hash = UrlSecret::generate().unwrap().hash();
        let pending = Verification::pending(
            token.clone(),
            hash.clone(),
            "+44*******456".into(),
            now,
            lifetimes,
        );
        let error = ErrorInfo {
            id: 306,
            name: "EC_REJECTED_INVALID_IP_ADDRESS".into(),
            description: "IP address not in MNO data range.".into(),
        };
        let refused =
            Verification::refused(token, hash, "+44*******456".into(), error, now, lifetimes);
        let key = crate::phone_hash::PhoneHashKey::new(vec![3; 32]).unwrap();
        let phone = crate::phone::PhoneNumber::parse("+447911123456").unwrap();
        let mut bound = pending.clone().bound_to(Binding {
            challenge: CodeChallenge::parse(crate::binding::rfc7636_example::CHALLENGE, None)
                .unwrap(),
            nonce: Some(Nonce::parse("n-0S6_WzA2Mj").unwrap()),
            phone_hash: key.hash(&phone),
            return_hash: Some(UrlSecret::generate().unwrap().hash()),
        });
        bound.redemption = Redemption {
            failures: 2,
            redeemed_at: Some(now),
        };
        for v in [pending, refused, bound] {
            assert_eq!(from_item(&to_item(&v)).unwrap(), v);
        }
    }

    /// Records written before `pinState` live at most `RECORD_TTL_SECONDS`, and read the same.
    #[test]
    fn pin_states_written_as_flags_read_as_their_phase() {
        let id = "9C817C6F8AF3D48F9FE553282AFA2B67";
        let base = |status: &str| {
            Item::from([
                (TABLE_KEY.into(), s("123e4567-e89b-12d3-a456-426655440000")),
                (SECRET_HASH.into(), s(&"a".repeat(64))),
                (PHONE.into(), s("+44*******456")),
                (CREATED_AT.into(), n(1_795_000_000_000u64)),
                (PENDING_UNTIL.into(), n(1_795_000_600_000u64)),
                (TTL_ATTRIBUTE.into(), n(1_795_003_600u64)),
                (STATUS.into(), s(status)),
                (COMPLETED_AT.into(), n(1_795_000_100_000u64)),
                (PIN_CHANNEL.into(), s("voice")),
                (PIN_SENDS.into(), n(1)),
                (PIN_FIRST_SENT_AT.into(), n(1_795_000_061_000u64)),
                (PIN_LAST_SENT_AT.into(), n(1_795_000_061_000u64)),
                (PIN_ATTEMPTS.into(), n(1)),
            ])
        };
        let phase = |status: &str, extra: &[(&str, AttributeValue)]| {
            let mut item = base(status);
            item.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
            from_item(&item).map(|v| v.fallback.pin.unwrap().phase)
        };
        let live = PinPhase::Live(PinId::parse(id).unwrap());
        assert_eq!(phase(PENDING, &[]).unwrap(), PinPhase::Sending);
        let with_id = [
            (PIN_ID, s(id)),
            (LEGACY_PIN_DEAD, n(0)),
            (LEGACY_PIN_VERIFIED, n(0)),
        ];
        assert_eq!(phase(PENDING, &with_id).unwrap(), live);
        let dead = [
            (PIN_ID, s(id)),
            (LEGACY_PIN_DEAD, n(1)),
            (LEGACY_PIN_VERIFIED, n(0)),
        ];
        assert_eq!(phase(PENDING, &dead).unwrap(), PinPhase::Dead);
        let verified = [
            (PIN_ID, s(id)),
            (LEGACY_PIN_DEAD, n(0)),
            (LEGACY_PIN_VERIFIED, n(1)),
        ];
        assert_eq!(phase(VALID, &verified).unwrap(), PinPhase::Verified);
        let mut item = base(VALID);
        item.extend(verified.iter().map(|(k, v)| (k.to_string(), v.clone())));
        assert_eq!(
            from_item(&item).unwrap().method(),
            crate::fallback::Method::Pin(Channel::Voice)
        );
        // Verified by PIN but not VALID cannot be.
        assert!(matches!(
            phase(PENDING, &[(PIN_STATE, s("verified"))]),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            phase(PENDING, &[(PIN_STATE, s("live"))]),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn a_damaged_item_is_reported_not_guessed() {
        let item = Item::from([(TABLE_KEY.into(), s("123e4567-e89b-12d3-a456-426655440000"))]);
        assert!(matches!(from_item(&item), Err(StoreError::Corrupt(_))));
    }
}
