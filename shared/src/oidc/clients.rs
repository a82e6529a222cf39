//! The relying parties allowed to federate: a registry of clients described with RFC 7591's
//! metadata names (`client_id`, `client_secret`, `jwks`, `token_endpoint_auth_method`,
//! `redirect_uris`, `scope`) and two of ours (`sector`: clients of one sector get one `sub`;
//! `fallback`: this client's users may complete by PIN). Read at run time from a JSON array, so an
//! operator adds or changes a client without a deploy.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

/// How a stored secret says it is a hash: `sha256:` and the base64url SHA-256 of the secret.
/// Secrets are 256 random bits (`smv-local oidc-client` makes them), so a fast hash is enough:
/// there is nothing to guess from, unlike a password.
pub const SECRET_HASH_PREFIX: &str = "sha256:";
/// Below this a client secret could be guessed.
pub const MIN_SECRET_CHARS: usize = 32;
/// The scopes this provider knows.
pub const SCOPES: &[&str] = &["openid", "phone"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 3] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// How a client proves itself at the token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// SHA-256 of the secret.
    SecretHash([u8; 32]),
    /// Its public keys (RFC 7517), for `private_key_jwt`.
    Jwks(Vec<serde_json::Value>),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretHash(_) => f.write_str("SecretHash(<redacted>)"),
            Self::Jwks(keys) => write!(f, "Jwks({} keys)", keys.len()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub auth_method: AuthMethod,
    pub credential: Credential,
    /// Compared as registered, character for character (RFC 9700 §4.1.3).
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// Clients of one sector get one `sub` for a number.
    pub sector: String,
    /// Whether this client's users may complete by PIN (where `acr_values` allows it).
    pub fallback: bool,
}

impl Client {
    pub fn redirects_to(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// In constant time; `false` for a client that authenticates with keys.
    pub fn secret_is(&self, given: &str) -> bool {
        match &self.credential {
            Credential::SecretHash(hash) => hash.ct_eq(&secret_hash(given)).into(),
            Credential::Jwks(_) => false,
        }
    }

    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// What `client_secret` is stored as: `sha256:` and the base64url SHA-256 of the secret.
pub fn stored_secret(secret: &str) -> String {
    format!(
        "{SECRET_HASH_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(secret_hash(secret))
    )
}

fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether the registry may hold a secret in the clear (`smv-local` only: a deployment's registry
/// holds hashes, so whoever reads it cannot act as a client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainSecrets {
    Allowed,
    Refused,
}

/// The clients, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry(BTreeMap<String, Client>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client {client}: {problem}")]
pub struct InvalidClient {
    pub client: String,
    pub problem: String,
}

/// RFC 7591's names; unknown members (`client_name`, `logo_uri`, ...) are ignored.
#[derive(Deserialize)]
struct Metadata {
    client_id: String,
    client_secret: Option<String>,
    jwks: Option<Jwks>,
    token_endpoint_auth_method: Option<AuthMethod>,
    redirect_uris: Vec<String>,
    scope: Option<String>,
    sector: Option<String>,
    #[serde(default)]
    fallback: bool,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<serde_json::Value>,
}

impl Registry {
    /// A JSON array of client metadata objects.
    pub fn parse(raw: &str, plain: PlainSecrets) -> Result<Self, InvalidClient> {
        let all: Vec<Metadata> = serde_json::from_str(raw).map_err(|e| InvalidClient {
            client: "?".into(),
            problem: format!("the registry is not a JSON array of client metadata ({e})"),
        })?;
        let mut clients = BTreeMap::new();
        for metadata in all {
            let id = metadata.client_id.clone();
            let client = Self::client(metadata, plain).map_err(|problem| InvalidClient {
                client: id.clone(),
                problem,
            })?;
            if clients.insert(id.clone(), client).is_some() {
                return Err(InvalidClient {
                    client: id,
                    problem: "registered twice".into(),
                });
            }
        }
        Ok(Self(clients))
    }

    pub fn get(&self, id: &str) -> Option<&Client> {
        self.0.get(id)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn client(m: Metadata, plain: PlainSecrets) -> Result<Client, String> {
        let printable =
            |s: &str| !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| b.is_ascii_graphic());
        if !printable(&m.client_id) {
            return Err("client_id must be 1 to 255 visible ASCII characters".into());
        }
        let auth_method = m
            .token_endpoint_auth_method
            .unwrap_or(AuthMethod::ClientSecretBasic);
        let credential = match (auth_method, m.client_secret, m.jwks) {
            (AuthMethod::PrivateKeyJwt, None, Some(jwks)) if !jwks.keys.is_empty() => {
                Credential::Jwks(jwks.keys)
            }
            (AuthMethod::PrivateKeyJwt, _, _) => {
                return Err(
                    "private_key_jwt needs jwks with at least one key, and no client_secret".into(),
                )
            }
            (_, Some(secret), None) => Credential::SecretHash(Self::secret(&secret, plain)?),
            (_, _, _) => {
                return Err(format!(
                    "{} needs client_secret, and no jwks",
                    auth_method.as_str()
                ))
            }
        };
        if m.redirect_uris.is_empty() {
            return Err("redirect_uris names no URI".into());
        }
        for uri in &m.redirect_uris {
            redirect_uri(uri).map_err(|why| format!("redirect_uris: {uri}: {why}"))?;
        }
        let scopes: Vec<String> = m
            .scope
            .as_deref()
            .unwrap_or("openid")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(unknown) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
            return Err(format!(
                "scope {unknown} is not one this provider knows ({SCOPES:?})"
            ));
        }
        if !scopes.iter().any(|s| s == "openid") {
            return Err("scope must include openid".into());
        }
        let sector = m.sector.unwrap_or_else(|| m.client_id.clone());
        if !printable(&sector) {
            return Err("sector must be 1 to 255 visible ASCII characters".into());
        }
        Ok(Client {
            id: m.client_id,
            auth_method,
            credential,
            redirect_uris: m.redirect_uris,
            scopes,
            sector,
            fallback: m.fallback,
        })
    }

    fn secret(stored: &str, plain: PlainSecrets) -> Result<[u8; 32], String> {
        if let Some(encoded) = stored.strip_prefix(SECRET_HASH_PREFIX) {
            let hash = URL_SAFE_NO_PAD
                .decode(encoded)
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                .ok_or("client_secret sha256: is not base64url of 32 bytes")?;
            return Ok(hash);
        }
        match plain {
            PlainSecrets::Refused => Err(format!(
                "client_secret must be stored as its hash ({SECRET_HASH_PREFIX}…), not in the clear"
            )),
            PlainSecrets::Allowed if stored.len() < MIN_SECRET_CHARS => Err(format!(
                "client_secret must be at least {MIN_SECRET_CHARS} characters"
            )),
            PlainSecrets::Allowed => Ok(secret_hash(stored)),
        }
    }
}

/// A deployment's registry, from its Secrets Manager secret: secrets only as hashes.
impl crate::keys::FromSecret for Registry {
    fn from_secret(raw: &str) -> Result<Self, String> {
        Self::parse(raw, PlainSecrets::Refused).map_err(|e| e.to_string())
    }
}

/// A redirect URI a client may register: absolute, `https` (or `http` on a loopback host, for
/// development: RFC 8252 §7.3), no fragment (RFC 6749 §3.1.2).
fn redirect_uri(raw: &str) -> Result<(), &'static str> {
    let url = Url::parse(raw).map_err(|_| "not an absolute URL")?;
    if url.fragment().is_some() {
        return Err("has a fragment");
    }
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("must be https (or http on a loopback address)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "a-client-secret-of-more-than-32-characters";

    fn one(client: serde_json::Value, plain: PlainSecrets) -> Result<Client, InvalidClient> {
        let registry = Registry::parse(&json!([client]).to_string(), plain)?;
        Ok(registry
            .get(client["client_id"].as_str().unwrap())
            .unwrap()
            .clone())
    }

    #[test]
    fn a_client_is_read_with_rfc_7591_names_and_our_defaults() {
        let client = one(
            json!({"client_id": "shop", "client_secret": stored_secret(SECRET),
                   "redirect_uris": ["https://shop.example.com/cb"], "client_name": "ignored"}),
            PlainSecrets::Refused,
        )
        .unwrap();
        assert_eq!(client.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(client.scopes, ["openid"]);
        assert_eq!(client.sector, "shop");
        assert!(!client.fallback);
        assert!(client.secret_is(SECRET));
        assert!(!client.secret_is("a-client-secret-of-more-than-32-characterz"));
        assert!(client.redirects_to("https://shop.example.com/cb"));
        for near in [
            "https://shop.example.com/cb/",
            "https://shop.example.com:443/cb",
            "https://shop.example.com/cb?x=1",
            "https://SHOP.example.com/cb",
        ] {
            assert!(!client.redirects_to(near), "{near}");
        }
    }

    #[test]
    fn secrets_in_the_clear_only_where_allowed() {
        let plain = json!({"client_id": "dev", "client_secret": SECRET, "redirect_uris": ["http://127.0.0.1:8080/cb"]});
        assert!(one(plain.clone(), PlainSecrets::Allowed)
            .unwrap()
            .secret_is(SECRET));
        let refused = one(plain, PlainSecrets::Refused).unwrap_err();
        assert!(refused.problem.contains("hash"), "{refused}");
        let short = json!({"client_id": "dev", "client_secret": "short", "redirect_uris": ["http://127.0.0.1/cb"]});
        assert!(one(short, PlainSecrets::Allowed).is_err());
    }

    #[test]
    fn malformed_clients_are_refused_with_their_reason() {
        let base = || json!({"client_id": "c", "client_secret": stored_secret(SECRET), "redirect_uris": ["https://rp.example/cb"]});
        let with = |k: &str, v: serde_json::Value| {
            let mut c = base();
            c[k] = v;
            c
        };
        for (client, reason) in [
            (with("redirect_uris", json!([])), "names no URI"),
            (
                with("redirect_uris", json!(["http://rp.example/cb"])),
                "https",
            ),
            (
                with("redirect_uris", json!(["https://rp.example/cb#x"])),
                "fragment",
            ),
            (with("redirect_uris", json!(["/cb"])), "absolute"),
            (with("scope", json!("openid email")), "email"),
            (with("scope", json!("phone")), "openid"),
            (with("client_id", json!("")), "client_id"),
            (
                with("token_endpoint_auth_method", json!("private_key_jwt")),
                "jwks",
            ),
            (with("client_secret", json!("sha256:short")), "32 bytes"),
        ] {
            let refused = one(client.clone(), PlainSecrets::Refused).unwrap_err();
            assert!(refused.problem.contains(reason), "{client}: {refused}");
        }
        let twice = json!([base(), base()]).to_string();
        assert!(Registry::parse(&twice, PlainSecrets::Refused)
            .unwrap_err()
            .problem
            .contains("twice"));
        assert!(Registry::parse("{}", PlainSecrets::Refused).is_err());
    }

    #[test]
    fn a_private_key_jwt_client_registers_keys_not_a_secret() {
        let client = one(
            json!({"client_id": "k", "token_endpoint_auth_method": "private_key_jwt",
                   "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]},
                   "redirect_uris": ["https://rp.example/cb"], "scope": "openid phone",
                   "sector": "rp.example", "fallback": true}),
            PlainSecrets::Refused,
        )
        .unwrap();
        assert!(matches!(client.credential, Credential::Jwks(ref keys) if keys.len() == 1));
        assert!(!client.secret_is(""));
        assert!(client.allows_scope("phone") && client.fallback);
        assert_eq!(client.sector, "rp.example");
    }
}
