//! One contract, both adapters: the in-memory store must behave as the DynamoDB store does
//! against a real DynamoDB-protocol server (moto, started by `scripts/test`).

use std::sync::Arc;
use std::time::Duration;

use smv_shared::store::{IdempotencyRecord, MemoryStore, Store, StoreError, StoredResponse};
use smv_shared::time::Timestamp;
use smv_shared::token::{SecretHash, Token, UrlSecret};
use smv_shared::verification::{
    ErrorInfo, Lifetimes, ParkedCallback, Status, Verification, VerificationResult,
};

const NOW: Timestamp = crate::helpers::START_TIME;
const LIFETIMES: Lifetimes = Lifetimes {
    pending_timeout: Duration::from_secs(300),
    record_lifetime: Duration::from_secs(3600),
};

fn token(raw: &str) -> Token {
    Token::parse(raw).unwrap()
}

fn pending(token: &Token, hash: &SecretHash) -> Verification {
    Verification::pending(
        token.clone(),
        hash.clone(),
        "+44*******456".into(),
        NOW,
        LIFETIMES,
    )
}

fn later(secs: u64) -> Timestamp {
    NOW.plus(Duration::from_secs(secs))
}

fn device_timeout() -> VerificationResult {
    VerificationResult::Error(Some(ErrorInfo {
        id: 305,
        name: "EC_MOBILE_DEVICE_TIMEOUT".into(),
        description: "Timeout occurred during a mobile device redirect.".into(),
    }))
}

async fn created_verification_reads_back_whole(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let v = pending(&t, &UrlSecret::generate().unwrap().hash());
    store.create(&v).await.unwrap();
    assert_eq!(store.find(&t, NOW).await.unwrap(), Some(v));
    assert_eq!(
        store
            .find(&token(crate::helpers::OTHER_TOKEN), NOW)
            .await
            .unwrap(),
        None
    );
}

async fn creating_an_existing_token_fails_and_keeps_the_first(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let first = pending(&t, &UrlSecret::generate().unwrap().hash());
    store.create(&first).await.unwrap();
    let second = pending(&t, &UrlSecret::generate().unwrap().hash());
    assert!(matches!(
        store.create(&second).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.find(&t, NOW).await.unwrap(), Some(first));
}

async fn a_record_past_its_ttl_is_absent_though_still_stored(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    store
        .create(&pending(&t, &UrlSecret::generate().unwrap().hash()))
        .await
        .unwrap();
    assert!(store.find(&t, later(3599)).await.unwrap().is_some());
    assert_eq!(store.find(&t, later(3600)).await.unwrap(), None);
}

async fn the_first_result_wins(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let hash = UrlSecret::generate().unwrap().hash();
    store.create(&pending(&t, &hash)).await.unwrap();
    assert!(store
        .complete(&t, &hash, &device_timeout(), later(10))
        .await
        .unwrap()
        .is_some());
    assert!(store
        .complete(&t, &hash, &VerificationResult::Valid, later(11))
        .await
        .unwrap()
        .is_none());
    let stored = store.find(&t, later(12)).await.unwrap().unwrap();
    assert_eq!(stored.result(), Some(&device_timeout()));
    assert_eq!(stored.status(later(12)), Status::Error);
}

async fn a_wrong_secret_changes_nothing(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let v = pending(&t, &UrlSecret::generate().unwrap().hash());
    store.create(&v).await.unwrap();
    let forged = UrlSecret::generate().unwrap().hash();
    assert!(store
        .complete(&t, &forged, &VerificationResult::Valid, later(1))
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.find(&t, later(1)).await.unwrap(), Some(v));
}

async fn no_result_applies_after_the_pending_timeout(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let hash = UrlSecret::generate().unwrap().hash();
    store.create(&pending(&t, &hash)).await.unwrap();
    assert!(store
        .complete(&t, &hash, &VerificationResult::Valid, later(300))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .find(&t, later(300))
            .await
            .unwrap()
            .unwrap()
            .status(later(300)),
        Status::Expired
    );
}

async fn completing_an_unknown_token_creates_nothing(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let hash = UrlSecret::generate().unwrap().hash();
    assert!(store
        .complete(&t, &hash, &VerificationResult::Valid, NOW)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.find(&t, NOW).await.unwrap(), None);
}

async fn a_refused_verification_is_final_from_the_start(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let hash = UrlSecret::generate().unwrap().hash();
    let error = ErrorInfo {
        id: 100,
        name: "EC_NO_COVERAGE".into(),
        description: "No coverage for requested phone number.".into(),
    };
    let refused = Verification::refused(
        t.clone(),
        hash.clone(),
        "+44*******456".into(),
        error,
        NOW,
        LIFETIMES,
    );
    store.create(&refused).await.unwrap();
    assert!(store
        .complete(&t, &hash, &VerificationResult::Valid, NOW)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.find(&t, NOW).await.unwrap(), Some(refused));
}

async fn parked_callbacks_are_found_only_by_their_secret_and_token(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let hash = UrlSecret::generate().unwrap().hash();
    let parked = ParkedCallback {
        token: t.clone(),
        secret_hash: hash.clone(),
        result: device_timeout(),
        received_at: NOW,
        expires_at: later(300),
    };
    store.park(&parked).await.unwrap();
    // A repeat, even with another result, does not replace the first.
    store
        .park(&ParkedCallback {
            result: VerificationResult::Valid,
            received_at: later(1),
            ..parked.clone()
        })
        .await
        .unwrap();

    assert_eq!(
        store.find_parked(&hash, &t, later(2)).await.unwrap(),
        Some(parked.clone())
    );
    let other_hash = UrlSecret::generate().unwrap().hash();
    assert_eq!(
        store.find_parked(&other_hash, &t, later(2)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .find_parked(&hash, &token(crate::helpers::OTHER_TOKEN), later(2))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.find_parked(&hash, &t, later(300)).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.find(&t, NOW).await.unwrap(),
        None,
        "a parked callback is not a verification"
    );

    // Once expired, the slot can be used again.
    let again = ParkedCallback {
        result: VerificationResult::Invalid,
        received_at: later(301),
        expires_at: later(601),
        ..parked
    };
    store.park(&again).await.unwrap();
    assert_eq!(
        store.find_parked(&hash, &t, later(302)).await.unwrap(),
        Some(again)
    );
}

async fn of_many_concurrent_results_exactly_one_wins(store: Arc<dyn Store>) {
    let t = token(crate::helpers::TOKEN);
    let hash = UrlSecret::generate().unwrap().hash();
    store.create(&pending(&t, &hash)).await.unwrap();
    let attempts = (0..24).map(|i| {
        let (store, t, hash) = (store.clone(), t.clone(), hash.clone());
        let result = if i % 2 == 0 {
            VerificationResult::Valid
        } else {
            VerificationResult::Invalid
        };
        tokio::spawn(async move {
            (
                store
                    .complete(&t, &hash, &result, later(5))
                    .await
                    .unwrap()
                    .is_some(),
                result,
            )
        })
    });
    let outcomes: Vec<(bool, VerificationResult)> = futures_join(attempts).await;
    let winners: Vec<&VerificationResult> = outcomes
        .iter()
        .filter(|(won, _)| *won)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one conditional write applies");
    assert_eq!(
        store.find(&t, later(6)).await.unwrap().unwrap().result(),
        Some(winners[0])
    );
}

async fn counters_count_atomically_and_restart_after_expiry(store: Arc<dyn Store>) {
    let ends = later(60);
    // 20 racing increments under a limit of 15: exactly 15 count, and the rest write nothing.
    let handles = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .increment_below("limit#test#a", 15, ends, NOW)
                .await
                .unwrap()
        })
    });
    let counted = futures_join(handles).await;
    assert_eq!(
        counted.iter().filter(|c| **c).count(),
        15,
        "no two see the same count"
    );
    let count_b = || store.increment_below("limit#test#b", 15, ends, NOW);
    for _ in 0..14 {
        assert!(count_b().await.unwrap());
    }
    // At its limit a counter is not written: taking one back makes room for exactly one.
    assert!(count_b().await.unwrap());
    assert!(!count_b().await.unwrap());
    store.decrement("limit#test#b", NOW).await.unwrap();
    assert!(count_b().await.unwrap());
    assert!(!count_b().await.unwrap());
    // Past its end (but not yet deleted by TTL) the counter starts again.
    for at in [61, 62] {
        assert!(store
            .increment_below("limit#test#a", 2, later(120), later(at))
            .await
            .unwrap());
    }
    assert!(!store
        .increment_below("limit#test#a", 2, later(120), later(63))
        .await
        .unwrap());
}

fn stored_response(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        content_type: "application/json".into(),
        location: Some(format!("/verifications/{}", crate::helpers::TOKEN)),
        body: body.into(),
    }
}

async fn an_idempotency_record_is_claimed_once_then_replayed(store: Arc<dyn Store>) {
    let lease = later(30);
    assert_eq!(
        store
            .claim_idempotent("idem#k", "f1", lease, NOW)
            .await
            .unwrap(),
        None
    );
    let in_progress = store
        .claim_idempotent("idem#k", "f1", lease, later(1))
        .await
        .unwrap();
    assert_eq!(
        in_progress,
        Some(IdempotencyRecord {
            fingerprint: "f1".into(),
            response: None
        })
    );
    let answer = stored_response("{\"token\":\"t\"}");
    store
        .finish_idempotent("idem#k", "f1", &answer, later(300))
        .await
        .unwrap();
    // Releasing a record that holds an answer changes nothing.
    store.release_idempotent("idem#k").await.unwrap();
    for at in [later(2), later(299)] {
        assert_eq!(
            store
                .claim_idempotent("idem#k", "f2", later(400), at)
                .await
                .unwrap(),
            Some(IdempotencyRecord {
                fingerprint: "f1".into(),
                response: Some(answer.clone())
            })
        );
    }
    // After its window the key is free again.
    assert_eq!(
        store
            .claim_idempotent("idem#k", "f2", later(400), later(300))
            .await
            .unwrap(),
        None
    );
}

async fn a_released_or_abandoned_claim_can_be_taken(store: Arc<dyn Store>) {
    assert_eq!(
        store
            .claim_idempotent("idem#r", "f", later(30), NOW)
            .await
            .unwrap(),
        None
    );
    store.release_idempotent("idem#r").await.unwrap();
    assert_eq!(
        store
            .claim_idempotent("idem#r", "f", later(31), later(1))
            .await
            .unwrap(),
        None
    );
    // Abandoned: nobody finished or released it before its lease ran out.
    assert_eq!(
        store
            .claim_idempotent("idem#r", "f", later(61), later(31))
            .await
            .unwrap(),
        None
    );
}

async fn of_concurrent_claims_exactly_one_wins(store: Arc<dyn Store>) {
    let handles = (0..10).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_idempotent("idem#c", "f", later(30), NOW)
                .await
                .unwrap()
        })
    });
    let claims = futures_join(handles).await;
    assert_eq!(
        claims.iter().filter(|c| c.is_none()).count(),
        1,
        "{claims:?}"
    );
}

/// A change computed from a read applies only if nothing was written since; every write (a
/// result, a replace) moves the version on; a fallback's state reads back whole.
async fn a_replace_applies_only_at_the_version_read(store: Arc<dyn Store>) {
    use smv_shared::fallback::{Channel, PinId, PinPhase, PinState};
    let t = token(crate::helpers::TOKEN);
    let secret = UrlSecret::generate().unwrap();
    let v = pending(&t, &secret.hash()).in_country(Some("GB"));
    store.create(&v).await.unwrap();
    let read = store.find(&t, NOW).await.unwrap().unwrap();
    assert_eq!(read.version, 0);
    let mut next = read.clone();
    next.fallback.pin = Some(PinState {
        channel: Channel::Voice,
        sends: 2,
        first_sent_at: later(61),
        last_sent_at: later(91),
        attempts: 1,
        phase: PinPhase::Live(PinId::parse("9C817C6F8AF3D48F9FE553282AFA2B67").unwrap()),
    });
    assert!(store.replace(read.version, &next).await.unwrap());
    let stored = store.find(&t, later(92)).await.unwrap().unwrap();
    assert_eq!(
        stored,
        smv_shared::verification::Verification {
            version: 1,
            ..next.clone()
        }
    );
    assert_eq!(stored.country.as_deref(), Some("GB"));
    // Computed from the first read: refused, and nothing of it is written.
    let mut stale = read.clone();
    stale.sim_swap.swapped = true;
    assert!(!store.replace(read.version, &stale).await.unwrap());
    assert!(
        !store
            .find(&t, later(92))
            .await
            .unwrap()
            .unwrap()
            .sim_swap
            .swapped
    );
    // A result is a write too: a replace computed before it is refused.
    store
        .complete(&t, &secret.hash(), &VerificationResult::Invalid, later(93))
        .await
        .unwrap()
        .expect("applies");
    assert!(!store.replace(1, &stored).await.unwrap());
    assert_eq!(
        store
            .find(&t, later(94))
            .await
            .unwrap()
            .unwrap()
            .status(later(94)),
        Status::Invalid
    );
    // An unknown token is never created by a replace.
    let other = pending(&token(crate::helpers::OTHER_TOKEN), &secret.hash());
    assert!(!store.replace(0, &other).await.unwrap());
    assert_eq!(store.find(&other.token, NOW).await.unwrap(), None);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        results.push(handle.await.unwrap());
    }
    results
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(std::sync::Arc::new(super::MemoryStore::new())).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(crate::helpers::dynamodb_store().await).await
                }
            )*
        }
    };
}

contract!(
    created_verification_reads_back_whole,
    creating_an_existing_token_fails_and_keeps_the_first,
    a_record_past_its_ttl_is_absent_though_still_stored,
    the_first_result_wins,
    a_wrong_secret_changes_nothing,
    no_result_applies_after_the_pending_timeout,
    completing_an_unknown_token_creates_nothing,
    a_refused_verification_is_final_from_the_start,
    parked_callbacks_are_found_only_by_their_secret_and_token,
    of_many_concurrent_results_exactly_one_wins,
    counters_count_atomically_and_restart_after_expiry,
    an_idempotency_record_is_claimed_once_then_replayed,
    a_released_or_abandoned_claim_can_be_taken,
    of_concurrent_claims_exactly_one_wins,
    a_replace_applies_only_at_the_version_read,
);
