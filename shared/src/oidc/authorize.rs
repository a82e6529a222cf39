//! The authorization request (OpenID Connect Core §3.1.2.1, RFC 6749 §4.1.1, RFC 7636, RFC 9700),
//! checked in full before anything is shown or stored. The same check runs twice: when the
//! relying party sends the browser to `/authorize`, and when the page asks for the code at the
//! end: the page carries the request, and nothing it could change in it would let it do more
//! than a new `/authorize` would.

use crate::binding::{CodeChallenge, Nonce};
use crate::phone::PhoneNumber;

use super::clients::{Client, Registry};

/// The `acr` of silent evidence only (the carrier or the SIM vouched), and of silent evidence or
/// a PIN where the client allows one.
pub const ACR_SILENT: &str = "urn:smv:acr:silent";
pub const ACR_SILENT_OR_PIN: &str = "urn:smv:acr:silent-or-pin";
pub const ACR_VALUES: [&str; 2] = [ACR_SILENT, ACR_SILENT_OR_PIN];
/// A `state` longer than this is not a relying party's value.
pub const MAX_STATE: usize = 1024;

/// A request that may be served: its client, where to send the browser back, and what the code
/// will be bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The requested scopes this provider knows (`openid`, and `phone` where asked).
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<Nonce>,
    /// The relying party's PKCE challenge, S256 (distinct from the page's own).
    pub code_challenge: CodeChallenge,
    /// `login_hint=tel:+…`: the number the page starts with.
    pub login_hint: Option<PhoneNumber>,
    /// Whether a PIN may complete this request (the client's `fallback` and `acr_values`).
    pub pin_allowed: bool,
}

impl AuthorizationRequest {
    pub fn acr(&self) -> &'static str {
        match self.pin_allowed {
            true => ACR_SILENT_OR_PIN,
            false => ACR_SILENT,
        }
    }

    pub fn wants(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a request is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No client or no registered redirect URI to send the browser back to: an error page of
    /// ours, never a redirect (RFC 6749 §4.1.2.1: no open redirector).
    NoRedirect(String),
    /// Back to the client's registered URI with `error`, `error_description`, `state`, `iss`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

/// What a request said, parameter by parameter.
pub trait Parameters {
    fn one(&self, name: &str) -> Result<Option<&str>, Repeated>;
}

/// A parameter given more than once (RFC 6749 §3.1 forbids it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// Checks `params` against the registry. `prompt=none` is refused with `login_required`: this
/// provider keeps no session, so every request asks the user.
pub fn parse(
    params: &dyn Parameters,
    registry: &Registry,
) -> Result<(AuthorizationRequest, Client), Refusal> {
    let no_redirect = |why: &str| Refusal::NoRedirect(why.to_owned());
    let client_id = params
        .one("client_id")
        .map_err(|_| no_redirect("client_id is given more than once"))?
        .ok_or_else(|| no_redirect("client_id is missing"))?;
    let client = registry
        .get(client_id)
        .ok_or_else(|| no_redirect("this client_id is not registered"))?;
    let redirect_uri = params
        .one("redirect_uri")
        .map_err(|_| no_redirect("redirect_uri is given more than once"))?
        .ok_or_else(|| no_redirect("redirect_uri is missing"))?;
    if !client.redirects_to(redirect_uri) {
        return Err(no_redirect(
            "redirect_uri is not one this client registered (it must match exactly)",
        ));
    }
    // From here on the browser goes back to the client, with the state if it is one.
    let state = params
        .one("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= MAX_STATE)
        .map(str::to_owned);
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    let get = |name: &str| {
        params.one(name).map_err(|_| {
            refuse(
                "invalid_request",
                &format!("{name} is given more than once"),
            )
        })
    };
    if get("state")?.is_some_and(|s| s.len() > MAX_STATE) {
        return Err(refuse(
            "invalid_request",
            "state is longer than 1024 characters",
        ));
    }
    if get("request")?.is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if get("request_uri")?.is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match get("response_type")? {
        Some("code") => {}
        None => return Err(refuse("invalid_request", "response_type is missing")),
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if !matches!(get("response_mode")?, None | Some("query")) {
        return Err(refuse(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    let requested: Vec<&str> = get("scope")?.unwrap_or("").split(' ').collect();
    if !requested.contains(&"openid") {
        return Err(refuse("invalid_scope", "scope must include openid"));
    }
    // Scopes this provider does not know (profile, email, ...) are ignored (OIDC Core §3.1.2.1);
    // one it knows but this client is not allowed is refused.
    let mut scopes = Vec::new();
    for scope in requested
        .into_iter()
        .filter(|s| super::clients::SCOPES.contains(s))
    {
        if !client.allows_scope(scope) {
            return Err(refuse(
                "invalid_scope",
                &format!("this client may not ask for {scope}"),
            ));
        }
        if !scopes.iter().any(|s: &String| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    let code_challenge = match (get("code_challenge")?, get("code_challenge_method")?) {
        (None, _) => {
            return Err(refuse(
                "invalid_request",
                "code_challenge is required (PKCE with S256, RFC 7636)",
            ))
        }
        (Some(_), method) if method != Some("S256") => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256",
            ))
        }
        (Some(challenge), method) => CodeChallenge::parse(challenge, method).map_err(|_| {
            refuse(
                "invalid_request",
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
            )
        })?,
    };
    let nonce = get("nonce")?.map(Nonce::parse).transpose().map_err(|_| {
        refuse(
            "invalid_request",
            "nonce must be 1 to 255 visible ASCII characters",
        )
    })?;
    let prompts: Vec<&str> = get("prompt")?
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if prompts.contains(&"none") {
        let error = match prompts.len() {
            1 => "login_required",
            _ => "invalid_request",
        };
        return Err(refuse(
            error,
            "this provider always asks the user to verify the number",
        ));
    }
    let pin_allowed = match get("acr_values")? {
        None => client.fallback,
        Some(values) => {
            let asked: Vec<&str> = values
                .split(' ')
                .filter(|v| ACR_VALUES.contains(v))
                .collect();
            match (
                asked.contains(&ACR_SILENT_OR_PIN),
                asked.contains(&ACR_SILENT),
            ) {
                (true, _) if client.fallback => true,
                (_, true) => false,
                (true, false) => {
                    return Err(refuse(
                        "invalid_request",
                        "acr_values asks for a PIN, which this client is not allowed",
                    ))
                }
                // Values this provider does not know: its default.
                (false, false) => client.fallback,
            }
        }
    };
    let login_hint = get("login_hint")?
        .and_then(|hint| hint.strip_prefix("tel:"))
        .and_then(|number| PhoneNumber::parse(number).ok());
    Ok((
        AuthorizationRequest {
            client_id: client.id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scopes,
            state,
            nonce,
            code_challenge,
            login_hint,
            pin_allowed,
        },
        client.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::clients::{stored_secret, PlainSecrets};
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    struct Query(Vec<(String, String)>);

    impl Parameters for Query {
        fn one(&self, name: &str) -> Result<Option<&str>, Repeated> {
            let mut found = self.0.iter().filter(|(n, _)| n == name);
            match (found.next(), found.next()) {
                (None, _) => Ok(None),
                (Some((_, v)), None) => Ok(Some(v)),
                _ => Err(Repeated),
            }
        }
    }

    fn registry() -> Registry {
        let clients = json!([
            {"client_id": "shop", "client_secret": stored_secret("0123456789abcdef0123456789abcdef"),
             "redirect_uris": ["https://shop.example/cb"], "scope": "openid phone"},
            {"client_id": "pin-ok", "client_secret": stored_secret("0123456789abcdef0123456789abcdef"),
             "redirect_uris": ["https://pin.example/cb"], "fallback": true}
        ]);
        Registry::parse(&clients.to_string(), PlainSecrets::Refused).unwrap()
    }

    fn query(changes: &[(&str, Option<&str>)]) -> Query {
        let mut params: HashMap<&str, &str> = HashMap::from([
            ("response_type", "code"),
            ("client_id", "shop"),
            ("redirect_uri", "https://shop.example/cb"),
            ("scope", "openid phone profile"),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        for (name, value) in changes {
            match value {
                Some(v) => params.insert(name, v),
                None => params.remove(name),
            };
        }
        Query(
            params
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    fn refused(changes: &[(&str, Option<&str>)]) -> Refusal {
        parse(&query(changes), &registry()).unwrap_err()
    }

    fn error_of(refusal: Refusal) -> (&'static str, Option<String>) {
        match refusal {
            Refusal::Redirect {
                error,
                state,
                redirect_uri,
                ..
            } => {
                assert_eq!(redirect_uri, "https://shop.example/cb");
                (error, state)
            }
            Refusal::NoRedirect(why) => panic!("not redirected: {why}"),
        }
    }

    #[test]
    fn a_well_formed_request_is_served_with_what_the_code_binds() {
        let (request, client) = parse(
            &query(&[("login_hint", Some("tel:+447911123456"))]),
            &registry(),
        )
        .unwrap();
        assert_eq!(client.id, "shop");
        assert_eq!(request.scopes, ["openid", "phone"], "profile is ignored");
        assert_eq!(request.state.as_deref(), Some("st-1"));
        assert_eq!(request.code_challenge.as_str(), CHALLENGE);
        assert_eq!(request.login_hint.as_ref().unwrap().e164(), "+447911123456");
        assert!(!request.pin_allowed);
        assert_eq!(request.acr(), ACR_SILENT);
    }

    #[test]
    fn without_a_client_or_a_registered_redirect_uri_nothing_is_redirected() {
        for changes in [
            vec![("client_id", Some("nobody"))],
            vec![("client_id", None)],
            vec![("redirect_uri", None)],
            vec![("redirect_uri", Some("https://shop.example/cb/"))],
            vec![("redirect_uri", Some("https://shop.example:8443/cb"))],
            vec![("redirect_uri", Some("https://shop.example/cb?x=1"))],
            vec![("redirect_uri", Some("https://evil.example/cb"))],
        ] {
            assert!(
                matches!(refused(&changes), Refusal::NoRedirect(_)),
                "{changes:?}"
            );
        }
        let mut twice = query(&[]);
        twice
            .0
            .push(("redirect_uri".into(), "https://shop.example/cb".into()));
        assert!(matches!(
            parse(&twice, &registry()),
            Err(Refusal::NoRedirect(_))
        ));
    }

    #[test]
    fn every_other_error_goes_back_with_its_code_and_the_state_unchanged() {
        for (changes, expected) in [
            (vec![("code_challenge", None)], "invalid_request"),
            (
                vec![("code_challenge_method", Some("plain"))],
                "invalid_request",
            ),
            (vec![("code_challenge_method", None)], "invalid_request"),
            (vec![("code_challenge", Some("short"))], "invalid_request"),
            (
                vec![("response_type", Some("token"))],
                "unsupported_response_type",
            ),
            (vec![("response_type", None)], "invalid_request"),
            (vec![("scope", Some("phone"))], "invalid_scope"),
            (vec![("prompt", Some("none"))], "login_required"),
            (vec![("prompt", Some("none login"))], "invalid_request"),
            (
                vec![("acr_values", Some(ACR_SILENT_OR_PIN))],
                "invalid_request",
            ),
            (vec![("request", Some("eyJ"))], "request_not_supported"),
            (vec![("response_mode", Some("fragment"))], "invalid_request"),
            (vec![("nonce", Some(""))], "invalid_request"),
        ] {
            let (error, state) = error_of(refused(&changes));
            assert_eq!(error, expected, "{changes:?}");
            assert_eq!(state.as_deref(), Some("st-1"), "{changes:?}");
        }
        let (_, state) = error_of(refused(&[("state", None), ("code_challenge", None)]));
        assert_eq!(state, None);
    }

    #[test]
    fn a_pin_only_where_the_client_allows_it_and_acr_values_asks_for_it() {
        let pin_client = |acr: Option<&str>| {
            let q = query(&[
                ("client_id", Some("pin-ok")),
                ("redirect_uri", Some("https://pin.example/cb")),
                ("scope", Some("openid")),
                ("acr_values", acr),
            ]);
            parse(&q, &registry()).unwrap().0.pin_allowed
        };
        assert!(pin_client(None));
        assert!(pin_client(Some(ACR_SILENT_OR_PIN)));
        assert!(!pin_client(Some(ACR_SILENT)));
        assert!(pin_client(Some("urn:other:acr")));
        let (request, _) = parse(
            &query(&[(
                "acr_values",
                Some(&format!("{ACR_SILENT_OR_PIN} {ACR_SILENT}")),
            )]),
            &registry(),
        )
        .unwrap();
        assert!(
            !request.pin_allowed,
            "silent is also acceptable to the client"
        );
    }
}
