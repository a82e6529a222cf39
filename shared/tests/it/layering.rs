//! The domain knows nothing of HTTP, Infobip's client or AWS: a domain module that names
//! `lambda_http`, `reqwest`, `hyper` or an AWS SDK crate fails here, so the dependency arrows of
//! the README's architecture stay true.

use std::path::{Path, PathBuf};

/// The domain: values valid by construction, the verification's state machine, the fallback's
/// rules, the keys and secrets, and the assertion's claims (not its KMS adapter).
const DOMAIN: &[&str] = &[
    "phone.rs",
    "phone_hash.rs",
    "token.rs",
    "verification.rs",
    "binding.rs",
    "device.rs",
    "device_return.rs",
    "time.rs",
    "server_key.rs",
    "callback_secret.rs",
    "method_policy.rs",
    "camara_outcome.rs",
    "sealed_phone.rs",
    "sim_credential.rs",
    "fallback/mod.rs",
    "fallback/state.rs",
    "assertion/mod.rs",
    "assertion/jwk.rs",
    "assertion/der.rs",
];

const FORBIDDEN: &[&str] = &[
    "lambda_http",
    "lambda_runtime",
    "reqwest",
    "hyper",
    "aws_config",
    "aws_sdk_",
    "aws_smithy_",
];

/// The forbidden crates `source` names in code (comments aside), each with its line.
fn outward_references(source: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for name in FORBIDDEN {
            let named = code.match_indices(name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if named {
                found.push((number + 1, *name));
            }
        }
    }
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn domain_modules_import_no_http_client_or_aws_crate() {
    for module in DOMAIN {
        let source = std::fs::read_to_string(src().join(module))
            .unwrap_or_else(|e| panic!("{module}: {e} (renamed? update DOMAIN)"));
        assert_eq!(outward_references(&source), [], "{module} reaches outward");
    }
}

#[test]
fn the_check_sees_a_use_a_path_and_not_a_comment() {
    let source = "use lambda_http::Request;\n// reqwest is mentioned here\nlet c = aws_sdk_dynamodb::Client::new(&x);\nlet my_hyperlink = 1;";
    assert_eq!(
        outward_references(source),
        [(1, "lambda_http"), (3, "aws_sdk_")]
    );
}
