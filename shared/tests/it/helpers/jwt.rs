//! Assertions as a relying party checks them, with an independent JWT library.

use serde_json::Value;

use super::app::AUDIENCE;

/// The claims of `assertion`, checked by an independent JWT library (jsonwebtoken) against the
/// key set the app publishes: ES256 pinned, the key by `kid`, `typ`, `iss`, `aud`, `exp`.
pub fn verify_assertion(assertion: &str, jwks: &Value, issuer: &str) -> Value {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let header = decode_header(assertion).unwrap();
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("smv+jwt"));
    let kid = header.kid.expect("a kid");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the kid is in the key set");
    let decoding =
        DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
            .unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[issuer]);
    // The tests run on a manual clock set in 2026; exp is checked against it below instead.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    decode::<Value>(assertion, &decoding, &validation)
        .expect("the assertion verifies")
        .claims
}
