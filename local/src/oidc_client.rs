//! `smv-local oidc-client --redirect-uri URL`: a new relying party for the OpenID Provider, with
//! a fresh 256-bit secret. It prints the client as `smv-local`'s `OIDC_CLIENTS_FILE` takes it
//! (the secret in the clear) and as a deployment's registry must hold it (the secret's hash).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use smv_shared::oidc::clients::{stored_secret, PlainSecrets, Registry};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    /// For `OIDC_CLIENTS_FILE`: the secret in the clear.
    pub local: Value,
    /// For the deployed registry: the same client with its secret as `sha256:…`.
    pub deployed: Value,
    pub secret: String,
}

/// From the command's arguments: `--redirect-uri URL` (repeatable, at least one), `--id ID`,
/// `--scope "openid phone"`, `--sector NAME`, `--fallback`, `--auth client_secret_post`.
pub fn new_client(args: &[String]) -> Result<NewClient, String> {
    let mut redirect_uris = Vec::new();
    let mut id = None;
    let mut scope = "openid phone".to_owned();
    let mut sector = None;
    let mut fallback = false;
    let mut auth = "client_secret_basic".to_owned();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--redirect-uri" => redirect_uris.push(value("--redirect-uri")?),
            "--id" => id = Some(value("--id")?),
            "--scope" => scope = value("--scope")?,
            "--sector" => sector = Some(value("--sector")?),
            "--auth" => auth = value("--auth")?,
            "--fallback" => fallback = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if redirect_uris.is_empty() {
        return Err("--redirect-uri is required".into());
    }
    let random = |bytes: usize| -> Result<String, String> {
        let mut buf = vec![0u8; bytes];
        getrandom::fill(&mut buf).map_err(|e| e.to_string())?;
        Ok(URL_SAFE_NO_PAD.encode(buf))
    };
    let client_id = match id {
        Some(id) => id,
        None => format!("rp-{}", random(9)?),
    };
    let secret = random(32)?;
    let mut local = json!({
        "client_id": client_id,
        "client_secret": secret,
        "token_endpoint_auth_method": auth,
        "redirect_uris": redirect_uris,
        "scope": scope,
        "fallback": fallback,
    });
    if let Some(sector) = sector {
        local["sector"] = json!(sector);
    }
    // What the provider would refuse is refused here, with its reason.
    Registry::parse(&json!([local]).to_string(), PlainSecrets::Allowed)
        .map_err(|e| e.to_string())?;
    let mut deployed = local.clone();
    deployed["client_secret"] = json!(stored_secret(&secret));
    Ok(NewClient {
        local,
        deployed,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn a_new_client_is_one_the_provider_reads_and_its_secret_opens_the_hash() {
        let made = new_client(&args(&[
            "--redirect-uri",
            "http://127.0.0.1:8000/cb",
            "--id",
            "shop",
            "--fallback",
        ]))
        .unwrap();
        assert_eq!(made.local["client_id"], "shop");
        assert_eq!(made.local["client_secret"], made.secret.as_str());
        assert_eq!(made.secret.len(), 43);
        let deployed =
            Registry::parse(&json!([made.deployed]).to_string(), PlainSecrets::Refused).unwrap();
        let client = deployed.get("shop").unwrap();
        assert!(client.secret_is(&made.secret));
        assert!(client.fallback);
        assert_eq!(client.scopes, ["openid", "phone"]);
    }

    #[test]
    fn what_the_provider_would_refuse_is_refused_here() {
        assert!(new_client(&args(&[]))
            .unwrap_err()
            .contains("--redirect-uri"));
        let refused = new_client(&args(&["--redirect-uri", "http://rp.example/cb"])).unwrap_err();
        assert!(refused.contains("https"), "{refused}");
        assert!(new_client(&args(&[
            "--redirect-uri",
            "https://rp.example/cb",
            "--scope",
            "email"
        ]))
        .is_err());
    }
}
