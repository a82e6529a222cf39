//! The trusted result: a bound start, the device's code at the return URL, the redeem, and the
//! assertion as a relying party checks it (with jsonwebtoken, not our own signing code).

use crate::helpers::*;
use serde_json::{json, Value};

fn redeem_body(device_code: Option<&str>) -> Value {
    let mut body = json!({"codeVerifier": VERIFIER, "phoneNumber": PHONE});
    if let Some(code) = device_code {
        body["deviceCode"] = json!(code);
    }
    body
}

async fn assertion_of(t: &TestApp, token: &str, device_code: Option<&str>) -> Value {
    let redeemed = t.redeem(token, redeem_body(device_code)).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    body_json(&redeemed)
}

#[tokio::test]
async fn a_bound_verification_redeems_once_for_an_assertion_any_jwt_library_verifies() {
    let t = test_app().await;
    let code = t.valid_bound(TOKEN).await;
    assert_eq!(t.poll(TOKEN).await.1["assertion"], "available");

    let redeemed = assertion_of(&t, TOKEN, Some(&code)).await;

    let claims = verify_assertion(
        redeemed["assertion"].as_str().unwrap(),
        &t.jwks().await,
        ISSUER,
    );
    assert_eq!(claims["sub"], PHONE);
    assert_eq!(claims["phone_number"], PHONE);
    assert_eq!(claims["phone_number_verified"], true);
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["amr"], json!(["smv"]));
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(iat, START_TIME.as_millis() / 1000);
    assert_eq!(exp - iat, 300);
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 22, "128 random bits");
    assert!(!jti.contains(TOKEN) && !redeemed["assertion"].as_str().unwrap().contains(TOKEN));
    assert_eq!(redeemed["expiresAt"], "2026-11-18T11:11:40Z");
    assert_eq!(t.poll(TOKEN).await.1["assertion"], "redeemed");

    // Single use.
    let again = t.redeem(TOKEN, redeem_body(Some(&code))).await;
    assert_problem_type(&again, 410, "assertion-already-issued");
}

#[tokio::test]
async fn the_whole_flow_on_dynamodb_and_kms() {
    let endpoint = test_dynamodb_endpoint();
    let key = kms_key(&endpoint).await;
    let store = dynamodb_store_on(&endpoint, &dynamodb_table_at(&endpoint).await);
    let t = test_app_with(&[("ASSERTION_KEY_ID", &key)], store).await;
    let code = t.valid_bound(TOKEN).await;

    let redeemed = assertion_of(&t, TOKEN, Some(&code)).await;

    let jwks = t.jwks().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let claims = verify_assertion(redeemed["assertion"].as_str().unwrap(), &jwks, ISSUER);
    assert_eq!(claims["phone_number"], PHONE);
    assert_eq!(t.poll(TOKEN).await.1["assertion"], "redeemed");
    let again = t.redeem(TOKEN, redeem_body(Some(&code))).await;
    assert_problem(&again, 410);
}

/// A rotation publishes other keys beside the signing key; one the function cannot read (no
/// `kms:GetPublicKey` on it, or deleted) is left out of the JWKS, which keeps serving the others,
/// and the redeem never needs it.
#[tokio::test]
async fn a_published_key_that_cannot_be_read_leaves_the_jwks_serving_the_others() {
    let endpoint = test_dynamodb_endpoint();
    let (key, next) = (kms_key(&endpoint).await, kms_key(&endpoint).await);
    let unreadable = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-4000-8000-000000000000";
    let published = format!("{unreadable},{next}");
    let t = test_app_env(&[
        ("ASSERTION_KEY_ID", &key),
        ("ASSERTION_PUBLISHED_KEY_IDS", &published),
    ])
    .await;
    let jwks = t.jwks().await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "{jwks}");
    let code = t.valid_bound(TOKEN).await;
    let redeemed = assertion_of(&t, TOKEN, Some(&code)).await;
    let claims = verify_assertion(redeemed["assertion"].as_str().unwrap(), &jwks, ISSUER);
    assert_eq!(claims["phone_number"], PHONE);
}

/// Each wrong part gets the same 403 and issues nothing; the genuine redeem still works until the
/// starter's fifth wrong attempt, and never after it. Only the starter (who holds the verifier)
/// can lock its own verification: anyone else's attempts count for nothing.
#[tokio::test]
async fn every_wrong_part_is_the_same_403_and_five_lock_the_verification() {
    let t = test_app().await;
    let code = t.valid_bound(TOKEN).await;
    let wrong_verifier =
        json!({"codeVerifier": "a".repeat(43), "deviceCode": code, "phoneNumber": PHONE});
    let wrong_code = redeem_body(Some("AAAAAAAAAAAAAAAAAAAAAA"));
    let no_code = redeem_body(None);
    let wrong_number =
        json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": "+447911123457"});
    let mut details = Vec::new();
    let attempts = std::iter::repeat_n(wrong_verifier, 10).chain([
        wrong_code,
        no_code,
        wrong_number.clone(),
        wrong_number.clone(),
    ]);
    for body in attempts {
        let refused = assert_problem(&t.redeem(TOKEN, body).await, 403);
        details.push(refused["detail"].clone());
        let (_, poll) = t.poll(TOKEN).await;
        assert_eq!(
            (poll["status"].as_str(), poll["assertion"].as_str()),
            (Some("VALID"), Some("available"))
        );
    }
    assert!(
        details.windows(2).all(|w| w[0] == w[1]),
        "no oracle: {details:?}"
    );

    let fifth = t.redeem(TOKEN, wrong_number).await;
    assert_problem(&fifth, 403);
    assert_eq!(t.poll(TOKEN).await.1["assertion"], "unavailable");
    let genuine = t.redeem(TOKEN, redeem_body(Some(&code))).await;
    assert_problem_type(&genuine, 410, "assertion-locked");
}

#[tokio::test]
async fn only_a_valid_bound_verification_can_be_redeemed() {
    let t = test_app().await;
    // Unknown token.
    assert_problem(&t.redeem(TOKEN, redeem_body(None)).await, 404);
    // Still pending, then INVALID.
    let redirect = json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": REDIRECT_URL});
    let (callback, back) = t.start_bound(TOKEN, PHONE, redirect).await;
    let code = t.device_code(&back).await;
    let pending = assert_problem(&t.redeem(TOKEN, redeem_body(Some(&code))).await, 409);
    assert!(pending["detail"].as_str().unwrap().contains("PENDING"));
    t.report(&callback, TOKEN, "INVALID").await;
    assert_problem(&t.redeem(TOKEN, redeem_body(Some(&code))).await, 409);
    assert_eq!(t.poll(TOKEN).await.1["assertion"], "unavailable");

    // VALID, but started without a challenge: nobody can redeem it.
    t.reset_infobip().await;
    t.settled(OTHER_TOKEN, "VALID").await;
    assert_problem(&t.redeem(OTHER_TOKEN, redeem_body(None)).await, 403);
    assert_eq!(t.poll(OTHER_TOKEN).await.1["assertion"], "unavailable");
}

#[tokio::test]
async fn malformed_redeems_are_400_and_count_nothing() {
    let t = test_app().await;
    let code = t.valid_bound(TOKEN).await;
    for body in [
        json!({"codeVerifier": "short", "deviceCode": code, "phoneNumber": PHONE}),
        json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": "12"}),
        json!({"deviceCode": code, "phoneNumber": PHONE}),
        json!([VERIFIER, code, PHONE]),
    ] {
        assert_problem(&t.redeem(TOKEN, body).await, 400);
    }
    for _ in 0..5 {
        assert_problem(&t.redeem(TOKEN, json!({"codeVerifier": "x"})).await, 400);
    }
    assertion_of(&t, TOKEN, Some(&code)).await;
}

/// An attacker starts a verification of the victim's number and relays the link to the
/// victim's phone: the carrier says VALID, but the code goes to the victim's phone, so the
/// starter's verifier alone redeems nothing.
#[tokio::test]
async fn a_relayed_link_gives_the_attacker_no_assertion() {
    let t = test_app().await;
    let code_on_victims_phone = t.valid_bound(TOKEN).await;
    for guess in [None, Some("AAAAAAAAAAAAAAAAAAAAAA"), Some("")] {
        assert_problem(&t.redeem(TOKEN, redeem_body(guess)).await, 403);
    }
    // The victim has the code but no verifier.
    let victim = json!({"codeVerifier": "v".repeat(43), "deviceCode": code_on_victims_phone, "phoneNumber": PHONE});
    assert_problem(&t.redeem(TOKEN, victim).await, 403);
}

#[tokio::test]
async fn the_brazil_ok_flow_redeems_without_a_device_code() {
    let t = test_app().await;
    let ok = json!({"status": "OK", "token": TOKEN});
    let (callback, _) = t.start_bound(TOKEN, "+5511987654321", ok).await;
    t.report(&callback, TOKEN, "VALID").await;
    let body = json!({"codeVerifier": VERIFIER, "phoneNumber": "+55 11 98765-4321"});
    let redeemed = t.redeem(TOKEN, body).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    let claims = verify_assertion(
        body_json(&redeemed)["assertion"].as_str().unwrap(),
        &t.jwks().await,
        ISSUER,
    );
    assert_eq!(claims["phone_number"], "+5511987654321");
}

#[tokio::test]
async fn concurrent_redeems_issue_exactly_one_assertion() {
    let t = test_app_with(&[], dynamodb_store().await).await;
    let code = t.valid_bound(TOKEN).await;
    let redeems = (0..8).map(|_| t.redeem(TOKEN, redeem_body(Some(&code))));
    let statuses: Vec<u16> = futures::future::join_all(redeems)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 410),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_return_url_shows_its_code_once_and_only_if_we_issued_it() {
    let t = test_app().await;
    t.infobip_redirects(TOKEN).await;
    assert_eq!(t.send(bound_start(PHONE)).await.status(), 201);
    let back = t.return_path().await;
    assert!(back.starts_with("/return/"), "{back}");

    let page = t
        .send(parse_event(&http_api_event(
            "GET",
            &back,
            json!({"accept": "text/html"}),
            None,
            DEVICE_IP,
        )))
        .await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "cache-control"), Some("no-store"));
    assert_eq!(header(&page, "referrer-policy"), Some("no-referrer"));
    // No page that opened this one keeps a handle on it (tab-nabbing).
    assert_eq!(
        header(&page, "cross-origin-opener-policy"),
        Some("same-origin")
    );
    assert!(header(&page, "content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(body_text(&page).contains("id=\"device-code\""));

    let second = t.send(get(&back)).await;
    assert_problem_type(&second, 410, "device-code-already-shown");
    assert!(!body_text(&second).contains("deviceCode"));

    let made_up = format!("/return/{}", "A".repeat(43));
    assert_problem(&t.send(get(&made_up)).await, 404);
}

#[tokio::test]
async fn starts_refuse_plain_pkce_and_stray_binding_fields() {
    let t = test_app_env(&[]).await;
    for body in [
        json!({"phoneNumber": PHONE, "codeChallenge": CHALLENGE, "codeChallengeMethod": "plain"}),
        json!({"phoneNumber": PHONE, "codeChallenge": "too-short"}),
        json!({"phoneNumber": PHONE, "nonce": NONCE}),
        json!({"phoneNumber": PHONE, "codeChallenge": CHALLENGE, "nonce": ""}),
    ] {
        assert_problem(
            &t.send(post("/verifications", &body.to_string())).await,
            400,
        );
    }
    assert!(
        t.infobip_requests().await.is_empty(),
        "Infobip was not called"
    );
}

#[tokio::test]
async fn the_key_set_names_each_key_by_its_thumbprint_and_may_be_cached() {
    let t = test_app().await;
    let response = t.send(get("/.well-known/jwks.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=300")
    );
    let key = &body_json(&response)["keys"][0];
    for (field, value) in [
        ("kty", "EC"),
        ("crv", "P-256"),
        ("use", "sig"),
        ("alg", "ES256"),
    ] {
        assert_eq!(key[field], value);
    }
    assert_eq!(key["kid"].as_str().unwrap().len(), 43);
}

/// The redeem's budget: one read, one KMS signature, one conditional write (the key set is read
/// from KMS once per process, here by the JWKS request before).
#[tokio::test]
async fn a_redeem_makes_one_read_one_signature_and_one_conditional_write() {
    use crate::helpers::fault_proxy::FaultyDynamoDb;
    let endpoint = test_dynamodb_endpoint();
    let key = kms_key(&endpoint).await;
    let proxy = FaultyDynamoDb::start(endpoint.clone()).await;
    let store = dynamodb_store_on(&proxy.endpoint, &dynamodb_table_at(&endpoint).await);
    let env = [
        ("ASSERTION_KEY_ID", key.as_str()),
        ("AWS_ENDPOINT_URL_KMS", proxy.endpoint.as_str()),
    ];
    let t = test_app_with(&env, store).await;
    let code = t.valid_bound(TOKEN).await;
    t.jwks().await;
    let before = proxy.seen().len();

    assertion_of(&t, TOKEN, Some(&code)).await;

    assert_eq!(
        proxy.seen()[before..],
        ["dynamodb:GetItem", "kms:Sign", "dynamodb:UpdateItem"]
    );
}
