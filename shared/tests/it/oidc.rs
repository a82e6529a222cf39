//! The OpenID Provider as a relying party's library meets it: discovery, the authorization
//! endpoint (the page, or a refusal), the page's request for the code, the token endpoint with
//! each client authentication, the ID token checked against the JWKS, UserInfo; and every refusal
//! the RFCs ask for, each changing nothing.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use smv_shared::http::event::{HeaderMap, HttpRequest, Method};
use smv_shared::store::{MemoryStore, Store};
use url::Url;

use crate::helpers::*;

const SHOP: &str = "shop";
const SHOP_SECRET: &str = "shop-secret-0123456789abcdef0123456789";
const SHOP_CALLBACK: &str = "https://shop.example/cb";
const BANK: &str = "bank";
const BANK_SECRET: &str = "bank-secret-0123456789abcdef0123456789";
const BANK_CALLBACK: &str = "https://bank.example/cb";
const KEYED: &str = "keyed";
const KEYED_CALLBACK: &str = "https://keyed.example/cb";
/// The relying party's own PKCE pair (RFC 7636's example is the page's).
const RP_VERIFIER: &str = "relying-party-verifier-0123456789abcdefghijklmnop";
const RP_NONCE: &str = "rp-nonce-42";
const SUBJECT_KEY: &str = "a-subject-key-of-at-least-32-bytes-for-the-tests";

fn rp_challenge() -> String {
    use sha2::{Digest, Sha256};
    URL_SAFE_NO_PAD.encode(Sha256::digest(RP_VERIFIER.as_bytes()))
}

/// A client registry file, as `smv-local` reads one.
fn registry_file(keyed_jwk: &Value) -> String {
    let clients = json!([
        {"client_id": SHOP, "client_secret": SHOP_SECRET, "redirect_uris": [SHOP_CALLBACK],
         "scope": "openid phone", "sector": "shop.example"},
        {"client_id": BANK, "client_secret": BANK_SECRET, "redirect_uris": [BANK_CALLBACK],
         "token_endpoint_auth_method": "client_secret_post", "fallback": true},
        {"client_id": KEYED, "token_endpoint_auth_method": "private_key_jwt",
         "jwks": {"keys": [keyed_jwk]}, "redirect_uris": [KEYED_CALLBACK]},
    ]);
    let path = std::env::temp_dir().join(format!("oidc-clients-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, clients.to_string()).unwrap();
    path.to_string_lossy().into_owned()
}

/// The `private_key_jwt` client's key pair: its PKCS#8 and its public JWK.
fn client_key() -> (Vec<u8>, Value) {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k1",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])});
    (pkcs8.as_ref().to_vec(), jwk)
}

struct Provider {
    t: TestApp,
    client_key: Vec<u8>,
}

async fn provider_on(store: Arc<dyn Store>) -> Provider {
    provider_with(&[], store).await
}

async fn provider_with(extra: &[(&str, &str)], store: Arc<dyn Store>) -> Provider {
    let (client_key, jwk) = client_key();
    let file = registry_file(&jwk);
    let mut env = vec![
        ("OIDC_CLIENTS_FILE", file.as_str()),
        ("SUBJECT_KEY", SUBJECT_KEY),
    ];
    env.extend_from_slice(extra);
    let t = test_app_with(&env, store).await;
    Provider { t, client_key }
}

async fn provider() -> Provider {
    provider_on(Arc::new(MemoryStore::new())).await
}

fn request(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            lambda_http::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    HttpRequest {
        method: &Method::from_bytes(method.as_bytes()).unwrap(),
        path,
        query,
        headers: &map,
        body: body.as_bytes(),
        source_ip: DEVICE_IP,
        domain_name: "abc123.execute-api.eu-west-1.amazonaws.com",
        request_id: "req-oidc",
    }
    .to_request()
    .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut f = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        f.append_pair(k, v);
    }
    f.finish()
}

fn authorize_query(changes: &[(&str, Option<&str>)]) -> String {
    let challenge = rp_challenge();
    let mut params: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", SHOP.into()),
        ("redirect_uri", SHOP_CALLBACK.into()),
        ("scope", "openid phone".into()),
        ("state", "st &=/?ü".into()),
        ("nonce", RP_NONCE.into()),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256".into()),
        ("login_hint", format!("tel:{PHONE}")),
    ];
    for (name, value) in changes {
        params.retain(|(n, _)| n != name);
        if let Some(value) = value {
            params.push((name, value.to_string()));
        }
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form(&pairs)
}

/// The bank's sign-in request (scope `openid` only: no number in its tokens).
fn bank_query() -> String {
    authorize_query(&[
        ("client_id", Some(BANK)),
        ("redirect_uri", Some(BANK_CALLBACK)),
        ("scope", Some("openid")),
    ])
}

fn location(response: &Response<Body>) -> Url {
    Url::parse(header(response, "location").expect("a redirect")).unwrap()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// What the page carries through the sign-in (decoded from the page).
fn sign_in_of(page: &Response<Body>) -> Value {
    let html = body_text(page);
    let marker = "data-authorize=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let end = start + html[start..].find('"').unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&html[start..end]).unwrap()).unwrap()
}

impl Provider {
    async fn authorize(&self, query: &str) -> Response<Body> {
        self.t
            .send(request(
                "GET",
                "/authorize",
                query,
                &[("accept", "text/html")],
                "",
            ))
            .await
    }

    /// The page's part: the sign-in request, a VALID bound verification with its device code,
    /// and the request for the code. Returns where the page sends the browser.
    async fn signed_in(&self, query: &str, token: &str) -> Url {
        let page = self.authorize(query).await;
        assert_eq!(page.status(), 200, "{}", body_text(&page));
        let sign_in = sign_in_of(&page);
        self.t.reset_infobip().await;
        let device_code = self.t.valid_bound(token).await;
        let completed = self
            .complete(&sign_in["request"], token, Some(&device_code))
            .await;
        assert_eq!(completed.status(), 200, "{}", body_text(&completed));
        Url::parse(body_json(&completed)["redirectTo"].as_str().unwrap()).unwrap()
    }

    async fn complete(
        &self,
        request_params: &Value,
        token: &str,
        device_code: Option<&str>,
    ) -> Response<Body> {
        let body = json!({"request": request_params, "token": token, "codeVerifier": VERIFIER,
            "deviceCode": device_code, "phoneNumber": PHONE});
        self.t
            .send(post("/authorize/complete", &body.to_string()))
            .await
    }

    async fn token(&self, headers: &[(&str, &str)], pairs: &[(&str, &str)]) -> Response<Body> {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.t
            .send(request("POST", "/token", "", &all, &form(pairs)))
            .await
    }

    async fn exchange_basic(&self, code: &str) -> Response<Body> {
        let basic = format!("Basic {}", STANDARD.encode(format!("{SHOP}:{SHOP_SECRET}")));
        self.token(
            &[("authorization", &basic)],
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", SHOP_CALLBACK),
                ("code_verifier", RP_VERIFIER),
            ],
        )
        .await
    }

    /// The bank's exchange (`client_secret_post`) of `code`, for `redirect_uri`.
    async fn exchange_posted(&self, code: &str, redirect_uri: &str) -> Response<Body> {
        self.token(
            &[],
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", BANK),
                ("client_secret", BANK_SECRET),
                ("redirect_uri", redirect_uri),
                ("code_verifier", RP_VERIFIER),
            ],
        )
        .await
    }

    async fn userinfo(&self, access_token: &str) -> Response<Body> {
        let bearer = format!("Bearer {access_token}");
        self.t
            .send(request(
                "GET",
                "/userinfo",
                "",
                &[("authorization", &bearer)],
                "",
            ))
            .await
    }

    async fn exchange_keyed(&self, code: &str, assertion: &str) -> Response<Body> {
        self.token(
            &[],
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion),
                ("redirect_uri", KEYED_CALLBACK),
                ("code_verifier", RP_VERIFIER),
            ],
        )
        .await
    }

    /// A `private_key_jwt` client assertion (RFC 7523), ES256.
    fn client_assertion(&self, jti: &str, aud: &str) -> String {
        use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
        let now = START_TIME.as_millis() / 1000;
        let claims = json!({"iss": KEYED, "sub": KEYED, "aud": aud, "jti": jti, "exp": now + 60, "iat": now});
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        encode(
            &header,
            &claims,
            &EncodingKey::from_ec_der(&self.client_key),
        )
        .unwrap()
    }
}

/// The ID token, checked as a relying party's library checks it.
fn checked_id_token(id_token: &str, jwks: &Value, audience: &str) -> Value {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let header = decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    let decoding =
        DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[ISSUER]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    decode::<Value>(id_token, &decoding, &validation)
        .unwrap()
        .claims
}

on_each_store!(signs_in: signs_in_in_memory, signs_in_on_dynamodb);

/// Discovery, the sign-in, the exchange, the ID token, UserInfo.
async fn signs_in(store: Arc<dyn Store>) {
    let p = provider_on(store).await;
    let discovery = p.t.send(get("/.well-known/openid-configuration")).await;
    assert_eq!(discovery.status(), 200, "{}", body_text(&discovery));
    let d = body_json(&discovery);
    assert_eq!(d["issuer"], ISSUER);
    assert_eq!(d["authorization_endpoint"], format!("{ISSUER}/authorize"));
    assert_eq!(d["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(d["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    assert_eq!(d["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );

    let page = p.authorize(&authorize_query(&[])).await;
    assert_eq!(page.status(), 200);
    let sign_in = sign_in_of(&page);
    assert_eq!(sign_in["loginHint"], PHONE);
    assert_eq!(sign_in["pinAllowed"], false);

    let back = p.signed_in(&authorize_query(&[]), TOKEN).await;
    assert_eq!(back.as_str().split('?').next().unwrap(), SHOP_CALLBACK);
    assert_eq!(
        param(&back, "state").as_deref(),
        Some("st &=/?ü"),
        "state unchanged"
    );
    assert_eq!(param(&back, "iss").as_deref(), Some(ISSUER));
    let code = param(&back, "code").unwrap();

    let tokens = p.exchange_basic(&code).await;
    assert_eq!(tokens.status(), 200, "{}", body_text(&tokens));
    assert_eq!(header(&tokens, "cache-control"), Some("no-store"));
    let tokens = body_json(&tokens);
    assert_eq!(tokens["token_type"], "Bearer");
    let claims = checked_id_token(
        tokens["id_token"].as_str().unwrap(),
        &p.t.jwks().await,
        SHOP,
    );
    assert_eq!(claims["nonce"], RP_NONCE);
    assert_eq!(claims["amr"], json!(["smv"]));
    assert_eq!(claims["acr"], "urn:smv:acr:silent");
    assert_eq!(claims["phone_number"], PHONE);
    assert_eq!(claims["phone_number_verified"], true);
    assert!(claims["auth_time"].is_u64());
    let sub = claims["sub"].as_str().unwrap().to_owned();
    assert!(
        !sub.contains(&PHONE_DIGITS[2..]),
        "the sub is not the number"
    );

    let info = p.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(info.status(), 200, "{}", body_text(&info));
    assert_eq!(
        body_json(&info),
        json!({"sub": sub, "phone_number": PHONE, "phone_number_verified": true})
    );
    // The verification was spent on the sign-in: it yields no assertion besides.
    assert_eq!(p.t.poll(TOKEN).await.1["assertion"], "redeemed");
}

#[tokio::test]
async fn without_a_client_or_registered_redirect_uri_the_browser_stays_here() {
    let p = provider().await;
    for changes in [
        vec![("client_id", Some("nobody"))],
        vec![("client_id", None)],
        vec![("redirect_uri", Some("https://shop.example/cb/"))],
        vec![("redirect_uri", Some("https://shop.example:8443/cb"))],
        vec![("redirect_uri", Some("https://shop.example/cb?x=1"))],
        vec![("redirect_uri", Some(BANK_CALLBACK))],
    ] {
        let refused = p.authorize(&authorize_query(&changes)).await;
        assert_eq!(refused.status(), 400, "{changes:?}");
        assert!(
            header(&refused, "location").is_none(),
            "{changes:?}: no redirect"
        );
        assert!(header(&refused, "content-type")
            .unwrap()
            .starts_with("text/html"));
        assert!(body_text(&refused).contains("This sign-in link cannot be used"));
    }
}

#[tokio::test]
async fn other_errors_go_back_to_the_client_with_state_and_iss() {
    let p = provider().await;
    for (changes, error) in [
        (vec![("code_challenge", None)], "invalid_request"),
        (
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (vec![("prompt", Some("none"))], "login_required"),
        (
            vec![("acr_values", Some("urn:smv:acr:silent-or-pin"))],
            "invalid_request",
        ),
        (vec![("scope", Some("phone"))], "invalid_scope"),
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
    ] {
        let refused = p.authorize(&authorize_query(&changes)).await;
        assert_eq!(
            refused.status(),
            302,
            "{changes:?}: {}",
            body_text(&refused)
        );
        let to = location(&refused);
        assert!(to.as_str().starts_with(SHOP_CALLBACK), "{to}");
        assert_eq!(param(&to, "error").as_deref(), Some(error), "{changes:?}");
        assert!(param(&to, "error_description").is_some());
        assert_eq!(param(&to, "state").as_deref(), Some("st &=/?ü"));
        assert_eq!(param(&to, "iss").as_deref(), Some(ISSUER));
    }
}

#[tokio::test]
async fn a_code_works_once_for_its_client_uri_and_verifier_within_60_seconds() {
    let p = provider().await;
    let code = param(&p.signed_in(&authorize_query(&[]), TOKEN).await, "code").unwrap();
    let basic = format!("Basic {}", STANDARD.encode(format!("{SHOP}:{SHOP_SECRET}")));
    let with = |verifier: &'static str, uri: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("redirect_uri", uri),
            ("code_verifier", verifier),
        ]
    };
    let refused_with = |response: &Response<Body>, status: u16, error: &str| {
        assert_eq!(response.status(), status, "{}", body_text(response));
        assert_eq!(
            body_json(response)["error"],
            error,
            "{}",
            body_text(response)
        );
        assert!(header(response, "content-type")
            .unwrap()
            .starts_with("application/json"));
    };
    // The wrong verifier, the wrong URI: refused, and the code still works afterwards.
    for pairs in [
        with(
            "a-verifier-that-is-not-the-relying-partys-000000000",
            SHOP_CALLBACK,
        ),
        with(RP_VERIFIER, "https://shop.example/cb/"),
    ] {
        let mut pairs = pairs;
        pairs.push(("code", &code));
        let refused = p.token(&[("authorization", &basic)], &pairs).await;
        refused_with(&refused, 400, "invalid_grant");
    }
    // A wrong secret: 401, with the Basic challenge.
    let wrong = format!(
        "Basic {}",
        STANDARD.encode(format!("{SHOP}:not-the-secret-of-shop-0000000000"))
    );
    let refused = p
        .token(
            &[("authorization", &wrong)],
            &[("grant_type", "authorization_code"), ("code", &code)],
        )
        .await;
    refused_with(&refused, 401, "invalid_client");
    assert!(header(&refused, "www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    // Another client's secret for this code.
    let bank = p.exchange_posted(&code, SHOP_CALLBACK).await;
    refused_with(&bank, 400, "invalid_grant");
    let unsupported = p
        .token(&[("authorization", &basic)], &[("grant_type", "password")])
        .await;
    refused_with(&unsupported, 400, "unsupported_grant_type");

    let first = p.exchange_basic(&code).await;
    assert_eq!(first.status(), 200, "{}", body_text(&first));
    let access = body_json(&first)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(p.userinfo(&access).await.status(), 200);
    // Used again: refused, and what it issued is revoked.
    let again = p.exchange_basic(&code).await;
    refused_with(&again, 400, "invalid_grant");
    let revoked = p.userinfo(&access).await;
    assert_eq!(revoked.status(), 401);
    assert!(header(&revoked, "www-authenticate")
        .unwrap()
        .contains("invalid_token"));

    // A code older than 60 s.
    let late = provider().await;
    let code = param(&late.signed_in(&authorize_query(&[]), TOKEN).await, "code").unwrap();
    late.t.advance(Duration::from_secs(61));
    refused_with(&late.exchange_basic(&code).await, 400, "invalid_grant");
}

#[tokio::test]
async fn client_secret_post_and_private_key_jwt_authenticate_and_an_assertion_works_once() {
    let p = provider().await;
    let bank_query = bank_query();
    let code = param(&p.signed_in(&bank_query, TOKEN).await, "code").unwrap();
    let posted = p.exchange_posted(&code, BANK_CALLBACK).await;
    assert_eq!(posted.status(), 200, "{}", body_text(&posted));
    let claims = checked_id_token(
        body_json(&posted)["id_token"].as_str().unwrap(),
        &p.t.jwks().await,
        BANK,
    );
    assert!(
        claims.get("phone_number").is_none(),
        "no phone scope, no number"
    );
    // A client registered for Basic may not post its secret instead.
    let keyed_query = authorize_query(&[
        ("client_id", Some(KEYED)),
        ("redirect_uri", Some(KEYED_CALLBACK)),
        ("scope", Some("openid")),
    ]);
    let code = param(&p.signed_in(&keyed_query, OTHER_TOKEN).await, "code").unwrap();
    let assertion = p.client_assertion("jti-1", &format!("{ISSUER}/token"));
    let wrong_audience = p
        .exchange_keyed(
            &code,
            &p.client_assertion("jti-0", "https://elsewhere.example/token"),
        )
        .await;
    assert_eq!(
        wrong_audience.status(),
        401,
        "{}",
        body_text(&wrong_audience)
    );
    let keyed = p.exchange_keyed(&code, &assertion).await;
    assert_eq!(keyed.status(), 200, "{}", body_text(&keyed));
    let replayed = p.exchange_keyed(&code, &assertion).await;
    assert_eq!(replayed.status(), 401, "{}", body_text(&replayed));
    assert_eq!(body_json(&replayed)["error"], "invalid_client");
}

#[tokio::test]
async fn the_sub_is_stable_for_a_sector_and_differs_across_sectors() {
    let p = provider().await;
    let sub_of = |response: &Response<Body>| -> String {
        let id_token = body_json(response)["id_token"].as_str().unwrap().to_owned();
        let payload = id_token.split('.').nth(1).unwrap().to_owned();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        claims["sub"].as_str().unwrap().to_owned()
    };
    let first = param(&p.signed_in(&authorize_query(&[]), TOKEN).await, "code").unwrap();
    let shop_once = sub_of(&p.exchange_basic(&first).await);
    let second = param(
        &p.signed_in(&authorize_query(&[]), OTHER_TOKEN).await,
        "code",
    )
    .unwrap();
    let shop_again = sub_of(&p.exchange_basic(&second).await);
    assert_eq!(shop_once, shop_again, "stable for one client");

    let q = provider().await;
    let bank_query = bank_query();
    let code = param(&q.signed_in(&bank_query, TOKEN).await, "code").unwrap();
    let bank = q.exchange_posted(&code, BANK_CALLBACK).await;
    let bank_sub = sub_of(&bank);
    assert_ne!(bank_sub, shop_once, "another sector, another sub");
    for sub in [&shop_once, &bank_sub] {
        assert!(
            !sub.contains(&PHONE_DIGITS[2..]) && sub.len() == 43,
            "{sub}"
        );
    }
}

#[tokio::test]
async fn a_code_by_pin_only_for_a_client_that_allows_it() {
    let p = provider().await;
    let page = p.authorize(&authorize_query(&[])).await;
    let sign_in = sign_in_of(&page);
    // A verification completed by PIN, for the shop, which does not allow one.
    let verification = p.t.backend.poll.verifications.clone();
    p.t.reset_infobip().await;
    let device_code = p.t.valid_bound(TOKEN).await;
    let mut stored = verification
        .find(&smv_shared::token::Token::parse(TOKEN).unwrap(), START_TIME)
        .await
        .unwrap()
        .unwrap();
    let read = stored.version;
    stored.fallback.pin = Some(smv_shared::fallback::PinState {
        channel: smv_shared::fallback::Channel::Sms,
        sends: 1,
        first_sent_at: START_TIME,
        last_sent_at: START_TIME,
        attempts: 1,
        phase: smv_shared::fallback::PinPhase::Verified,
    });
    assert!(verification.replace(read, &stored).await.unwrap());
    let refused = p
        .complete(&sign_in["request"], TOKEN, Some(&device_code))
        .await;
    assert_problem_type(&refused, 403, "pin-not-allowed");
    assert_eq!(
        p.t.poll(TOKEN).await.1["assertion"],
        "available",
        "nothing was spent"
    );
}

#[tokio::test]
async fn routes_are_not_served_without_a_registry() {
    let t = test_app().await;
    for path in [
        "/.well-known/openid-configuration",
        "/authorize",
        "/userinfo",
    ] {
        assert_eq!(t.send(get(path)).await.status(), 404, "{path}");
    }
}

/// The token request's budget: one read, one KMS signature, one conditional write; and the
/// page's request for the code: one read and one conditional write (the SIM-swap check is
/// Infobip's), counted on the wire to DynamoDB and KMS.
#[tokio::test]
async fn a_token_request_makes_one_read_one_signature_and_one_conditional_write() {
    use crate::helpers::fault_proxy::FaultyDynamoDb;
    let endpoint = test_dynamodb_endpoint();
    let key = kms_key(&endpoint).await;
    let proxy = FaultyDynamoDb::start(endpoint.clone()).await;
    let store = dynamodb_store_on(&proxy.endpoint, &dynamodb_table_at(&endpoint).await);
    let env = [
        ("ASSERTION_KEY_ID", key.as_str()),
        ("AWS_ENDPOINT_URL_KMS", proxy.endpoint.as_str()),
    ];
    let p = provider_with(&env, store).await;
    let page = p.authorize(&authorize_query(&[])).await;
    let sign_in = sign_in_of(&page);
    let device_code = p.t.valid_bound(TOKEN).await;
    p.t.jwks().await;
    let before = proxy.seen().len();
    let completed = p
        .complete(&sign_in["request"], TOKEN, Some(&device_code))
        .await;
    assert_eq!(completed.status(), 200, "{}", body_text(&completed));
    assert_eq!(
        proxy.seen()[before..],
        ["dynamodb:GetItem", "dynamodb:PutItem"]
    );
    let back = Url::parse(body_json(&completed)["redirectTo"].as_str().unwrap()).unwrap();
    let code = param(&back, "code").unwrap();

    let before = proxy.seen().len();
    let tokens = p.exchange_basic(&code).await;
    assert_eq!(tokens.status(), 200, "{}", body_text(&tokens));
    assert_eq!(
        proxy.seen()[before..],
        ["dynamodb:GetItem", "kms:Sign", "dynamodb:PutItem"]
    );
}

/// No number in a `sub`, in the logs (at TRACE) or in the table, after a sign-in with scope
/// `phone` whose ID token and UserInfo do carry it.
#[tokio::test]
async fn no_number_in_the_sub_the_logs_or_the_table() {
    let endpoint = test_dynamodb_endpoint();
    let table = dynamodb_table_at(&endpoint).await;
    let p = provider_on(dynamodb_store_on(&endpoint, &table)).await;
    let logs = LogCapture::default();
    let _guard = logs.install("trace");
    let code = param(&p.signed_in(&authorize_query(&[]), TOKEN).await, "code").unwrap();
    let tokens = body_json(&p.exchange_basic(&code).await);
    let info = body_json(&p.userinfo(tokens["access_token"].as_str().unwrap()).await);
    assert_eq!(
        info["phone_number"], PHONE,
        "the number is where the scope asks for it"
    );
    let national = &PHONE_DIGITS[2..];
    assert!(!info["sub"].as_str().unwrap().contains(national));
    assert!(!logs.text().contains(national), "a number in the logs");
    for item in scan_table(&endpoint, &table).await {
        let text = format!("{item:?}");
        assert!(!text.contains(national), "a number in the table: {text}");
        assert!(
            !text.contains(&code[37..]),
            "a code in the clear in the table"
        );
    }
}
