//! A verification as a DynamoDB item and back: one attribute per field, the PIN state as
//! `pinState`, records written before it read compatibly.

use super::item::*;
use super::{TABLE_KEY, TTL_ATTRIBUTE};
use crate::binding::{CodeChallenge, Nonce};
use crate::fallback::{Channel, FallbackState, PinId, PinPhase, PinState};
use crate::method_policy::SilentMethod;
use crate::oidc::grant::Grant;
use crate::phone_hash::PhoneHash;
use crate::sealed_phone::SealedPhone;
use crate::sim_swap::SimSwapState;
use crate::store::StoreError;
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};
use crate::verification::{Binding, Redemption, State, Verification};

pub(super) const PHONE: &str = "phone";
pub(super) const PENDING_UNTIL: &str = "pendingUntil";
pub(super) const COMPLETED_AT: &str = "completedAt";
pub(super) const CODE_CHALLENGE: &str = "codeChallenge";
pub(super) const NONCE: &str = "nonce";
pub(super) const PHONE_HASH: &str = "phoneHash";
pub(super) const RETURN_HASH: &str = "returnHash";
pub(super) const REDEEM_FAILURES: &str = "redeemFailures";
pub(super) const REDEEMED_AT: &str = "redeemedAt";
pub(super) const VALID: &str = "VALID";
pub(super) const VERSION: &str = "version";
pub(super) const COUNTRY: &str = "country";
pub(super) const SIM_SWAPPED: &str = "simSwapped";
pub(super) const SIM_SWAP_CHECKED_AT: &str = "simSwapCheckedAt";
pub(super) const PIN_CHANNEL: &str = "pinChannel";
pub(super) const PIN_ID: &str = "pinId";
pub(super) const PIN_SENDS: &str = "pinSends";
pub(super) const PIN_FIRST_SENT_AT: &str = "pinFirstSentAt";
pub(super) const PIN_LAST_SENT_AT: &str = "pinLastSentAt";
pub(super) const PIN_ATTEMPTS: &str = "pinAttempts";
pub(super) const PIN_STATE: &str = "pinState";
/// Absent on an SMV verification (and on every record written before CAMARA).
pub(super) const METHOD: &str = "method";
pub(super) const SEALED_PHONE: &str = "sealedPhone";
pub(super) const OIDC_GRANT: &str = "oidcGrant";
/// Written before `pinState` (records live at most `RECORD_TTL_SECONDS`): read, never written.
pub(super) const LEGACY_PIN_DEAD: &str = "pinDead";
pub(super) const LEGACY_PIN_VERIFIED: &str = "pinVerified";

pub(super) fn to_item(v: &Verification) -> Item {
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
    if v.sim_swap.swapped {
        item.insert(SIM_SWAPPED.into(), n(1));
    }
    if let Some(at) = v.sim_swap.cleared_at {
        item.insert(SIM_SWAP_CHECKED_AT.into(), n(at.as_millis()));
    }
    if v.silent_method != SilentMethod::Smv {
        item.insert(METHOD.into(), s(v.silent_method.stored()));
    }
    if let Some(sealed) = &v.sealed_phone {
        item.insert(SEALED_PHONE.into(), s(sealed.as_str()));
    }
    if let Some(grant) = &v.grant {
        item.insert(OIDC_GRANT.into(), s(&grant.to_stored()));
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
    Ok(FallbackState { pin })
}

fn sim_swap_from_item(item: &Item) -> Result<SimSwapState, StoreError> {
    Ok(SimSwapState {
        swapped: flag(item, SIM_SWAPPED)?,
        cleared_at: match item.get(SIM_SWAP_CHECKED_AT) {
            None => None,
            Some(_) => Some(Timestamp::from_millis(get_n(item, SIM_SWAP_CHECKED_AT)?)),
        },
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

pub(super) fn from_item(item: &Item) -> Result<Verification, StoreError> {
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
        sim_swap: sim_swap_from_item(item)?,
        silent_method: match optional_s(item, METHOD)? {
            None => SilentMethod::Smv,
            Some(raw) => SilentMethod::from_stored(raw)
                .ok_or_else(|| StoreError::Corrupt(format!("{METHOD} is malformed")))?,
        },
        sealed_phone: optional_s(item, SEALED_PHONE)?
            .map(|raw| {
                SealedPhone::from_stored(raw)
                    .ok_or_else(|| StoreError::Corrupt(format!("{SEALED_PHONE} is malformed")))
            })
            .transpose()?,
        grant: optional_s(item, OIDC_GRANT)?
            .map(|raw| {
                Grant::from_stored(raw)
                    .ok_or_else(|| StoreError::Corrupt(format!("{OIDC_GRANT} is malformed")))
            })
            .transpose()?,
        // Written before versions existed: the first write makes it 1.
        version: match item.get(VERSION) {
            None => 0,
            Some(_) => get_n(item, VERSION)?,
        },
    })
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
        let sealed = crate::sealed_phone::SealedPhone::seal(&key, &phone, &bound.token).unwrap();
        let camara = bound
            .clone()
            .by_camara(SilentMethod::Camara, sealed.clone());
        let sim = pending.clone().by_camara(SilentMethod::Sim, sealed);
        for v in [pending, refused, bound, camara, sim] {
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
