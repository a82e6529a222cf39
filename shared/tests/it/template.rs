//! `template.yaml` and the code, held together: the table the adapter expects, the variables each
//! function reads, the routes the router serves, the DynamoDB actions each function calls, the
//! events in `events/` and `events/env.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::helpers::fault_proxy::FaultyDynamoDb;
use crate::helpers::{
    assert_problem, body_text, dynamodb_store_on, dynamodb_table_at, keyed_start,
    keys_in_secrets_manager, kms_key, test_app_with, test_dynamodb_endpoint, TestApp, OTHER_TOKEN,
    PHONE, REDIRECT_URL, TOKEN, VERIFIER,
};

use lambda_http::RequestExt;
use serde_yaml::Value;
use smv_shared::config::{all_settings, variables_deployed, Kind, Template};
use smv_shared::http::routes::Params;
use smv_shared::http::{all_routes, RouteInfo};
use smv_shared::store::{TABLE_KEY, TTL_ATTRIBUTE};
use smv_shared::Function;

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn template() -> Value {
    let raw = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    serde_yaml::from_str(&raw).unwrap()
}

pub(crate) fn resources(template: &Value) -> &serde_yaml::Mapping {
    template["Resources"].as_mapping().unwrap()
}

/// Logical id → (binary, Function) for every Lambda function in the template.
fn functions(template: &Value) -> BTreeMap<String, (String, Function)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| {
            assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda", "{id:?}");
            let binary = r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap()
                .to_owned();
            let function = Function::from_binary(&binary)
                .unwrap_or_else(|| panic!("no Lambda binary named {binary}"));
            (id.as_str().unwrap().to_owned(), (binary, function))
        })
        .collect()
}

/// What the template sets on `function`: what it reads, but the keys given as text locally.
fn variables_of(function: Function) -> BTreeSet<String> {
    variables_deployed(function).map(str::to_owned).collect()
}

#[test]
fn the_table_has_the_key_and_ttl_the_adapter_writes() {
    let template = template();
    let table = &resources(&template)["VerificationsTable"]["Properties"];
    assert_eq!(table["KeySchema"][0]["AttributeName"], TABLE_KEY);
    assert_eq!(table["KeySchema"][0]["KeyType"], "HASH");
    assert_eq!(table["KeySchema"].as_sequence().unwrap().len(), 1);
    assert_eq!(table["AttributeDefinitions"][0]["AttributeName"], TABLE_KEY);
    assert_eq!(table["AttributeDefinitions"][0]["AttributeType"], "S");
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        TTL_ATTRIBUTE
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
}

#[test]
fn each_function_is_given_exactly_the_variables_it_reads() {
    let template = template();
    let functions = functions(&template);
    assert_eq!(functions.len(), 3);
    for (id, (binary, function)) in &functions {
        let set: BTreeSet<String> = resources(&template)[id.as_str()]["Properties"]["Environment"]
            ["Variables"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(set, variables_of(*function), "{id} ({binary})");
        let package =
            std::fs::read_to_string(root().join("functions").join(binary).join("Cargo.toml"))
                .unwrap();
        assert!(
            package.contains(&format!("name = \"{binary}\"")),
            "{binary} is a workspace package"
        );
    }
}

/// No key is in any function's configuration (`lambda:GetFunctionConfiguration` returns it in
/// clear): each function names the secrets of the keys it uses, and only those, and is granted
/// `secretsmanager:GetSecretValue` on exactly them. The Infobip key reaches the two functions
/// that call Infobip; the phone hash and return keys the two that hash numbers and check return
/// URLs (start, poll); the callback key the two that tag and check callback URLs.
#[test]
fn keys_are_read_from_secrets_manager_by_exactly_the_functions_that_use_them() {
    let template = template();
    let secrets = [
        (
            "INFOBIP_API_KEY",
            "InfobipApiKeySecret",
            &[Function::Start, Function::Poll][..],
        ),
        (
            "PHONE_HASH_KEY",
            "PhoneHashKeySecret",
            &[Function::Start, Function::Poll][..],
        ),
        (
            "RETURN_KEY",
            "ReturnKeySecret",
            &[Function::Start, Function::Poll][..],
        ),
        (
            "CALLBACK_SECRET_KEY",
            "CallbackSecretKey",
            &[Function::Start, Function::Callback][..],
        ),
        ("SUBJECT_KEY", "SubjectKeySecret", &[Function::Poll][..]),
    ];
    for (id, (_, function)) in functions(&template) {
        let variables =
            &resources(&template)[id.as_str()]["Properties"]["Environment"]["Variables"];
        let text = format!("{variables:?}");
        assert!(
            !text.contains("resolve:secretsmanager"),
            "{id}: a secret resolved into its configuration"
        );
        let granted: BTreeSet<String> = statements_granting(&template, &id)
            .into_iter()
            .filter(|(_, s)| format!("{:?}", s["Action"]).contains("secretsmanager:GetSecretValue"))
            .flat_map(|(resource, _)| resource.as_sequence().unwrap().clone())
            .map(|r| format!("{r:?}"))
            .collect();
        let mut expected = BTreeSet::new();
        for (key, secret, holders) in secrets {
            assert!(
                variables[key].is_null(),
                "{id}: {key} itself is in its configuration"
            );
            let named = &variables[format!("{key}_SECRET_ARN").as_str()];
            let reference: Value = serde_yaml::from_str(&format!("!Ref {secret}")).unwrap();
            if holders.contains(&function) {
                assert_eq!(named, &reference, "{id}: {key}");
                expected.insert(format!("{reference:?}"));
            } else {
                assert!(named.is_null(), "{id} must not name {secret}");
            }
        }
        assert_eq!(
            granted, expected,
            "{id}: GetSecretValue on exactly its secrets"
        );
    }
}

/// A parameter's `Default`, bounds and allowed values are the declaration's (where they differ on
/// purpose, the declaration says why, and the template stays within its bounds), and every
/// function that reads the setting is given that parameter.
#[test]
fn each_parameter_says_what_its_setting_declares() {
    let template = template();
    let functions = functions(&template);
    let text = |v: &Value| match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut checked = 0;
    for setting in all_settings() {
        let Some(name) = setting.parameter() else {
            continue;
        };
        let parameter = &template["Parameters"][name];
        assert!(
            parameter.is_mapping(),
            "{}: no parameter {name}",
            setting.name
        );
        let (default, bounds, allowed): (Option<String>, Option<(u64, u64)>, Vec<&str>) =
            match setting.kind {
                Kind::Text { default } => (Some(default.unwrap_or("").to_owned()), None, vec![]),
                Kind::Required => (None, None, vec![]),
                Kind::Number { default, min, max } => {
                    (Some(default.to_string()), Some((min, max)), vec![])
                }
                Kind::Flag { default } => (Some(default.to_string()), None, vec!["true", "false"]),
                Kind::Choice { default, allowed } => {
                    (Some(default.to_owned()), None, allowed.to_vec())
                }
            };
        assert_eq!(text(&parameter["Default"]), default, "{name} Default");
        let given_allowed: Vec<String> = parameter["AllowedValues"]
            .as_sequence()
            .map(|values| values.iter().filter_map(text).collect())
            .unwrap_or_default();
        assert_eq!(given_allowed, allowed, "{name} AllowedValues");
        let bound = |key: &str| parameter[key].as_u64();
        match (bounds, setting.template) {
            (Some((min, max)), Template::Parameter(_)) => {
                assert_eq!(bound("MinValue"), Some(min), "{name} MinValue");
                assert_eq!(bound("MaxValue"), Some(max), "{name} MaxValue");
            }
            (Some((min, max)), _) => {
                let within = |v: Option<u64>| v.is_none_or(|v| (min..=max).contains(&v));
                assert!(
                    within(bound("MinValue")) && within(bound("MaxValue")),
                    "{name}"
                );
            }
            (None, _) => assert!(bound("MinValue").is_none() && bound("MaxValue").is_none()),
        }
        let reference: Value = serde_yaml::from_str(&format!("!Ref {name}")).unwrap();
        for (id, (_, function)) in &functions {
            let given = &resources(&template)[id.as_str()]["Properties"]["Environment"]
                ["Variables"][setting.name];
            let expected = setting.read_by.contains(function);
            assert_eq!(
                *given == reference,
                expected,
                "{id}: {} = !Ref {name}",
                setting.name
            );
        }
        checked += 1;
    }
    assert!(checked > 30, "only {checked} parameters checked");
}

#[test]
fn template_routes_and_handler_routes_are_the_same() {
    let template = template();
    let functions = functions(&template);
    let mut declared = BTreeSet::new();
    for (id, (_, function)) in &functions {
        for (_, event) in resources(&template)[id.as_str()]["Properties"]["Events"]
            .as_mapping()
            .unwrap()
        {
            assert_eq!(event["Type"], "HttpApi");
            let properties = &event["Properties"];
            declared.insert((
                properties["Method"].as_str().unwrap().to_owned(),
                properties["Path"].as_str().unwrap().to_owned(),
                format!("{function:?}"),
            ));
        }
    }
    let served: BTreeSet<(String, String, String)> = all_routes()
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.pattern.to_owned(),
                format!("{:?}", r.function),
            )
        })
        .collect();
    assert_eq!(declared, served);
}

#[test]
fn every_event_file_names_a_route_of_its_function() {
    let dir = root().join("events");
    let mut covered: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        let name = file.file_name().unwrap().to_str().unwrap().to_owned();
        if name == "env.json" {
            continue;
        }
        let request =
            lambda_http::request::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let path = request.raw_http_path().to_owned();
        let binary = name.split('.').next().unwrap();
        let route: RouteInfo = all_routes()
            .into_iter()
            .find(|r| {
                r.method == request.method().as_str() && Params::of(r.pattern, &path).is_some()
            })
            .unwrap_or_else(|| panic!("{name}: {} {path} is not a route", request.method()));
        assert_eq!(
            Function::from_binary(binary),
            Some(route.function),
            "{name}"
        );
        *covered.entry(route.name()).or_default() += 1;
    }
    // A REST API and an HTTP API event for every route.
    let every_route_twice: BTreeMap<String, usize> =
        all_routes().iter().map(|r| (r.name(), 2)).collect();
    assert_eq!(covered, every_route_twice);
}

#[test]
fn env_json_names_the_template_functions_and_only_their_variables() {
    let template = template();
    let functions = functions(&template);
    let env: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/env.json")).unwrap())
            .unwrap();
    let env = env.as_object().unwrap();
    assert_eq!(
        env.keys().cloned().collect::<BTreeSet<_>>(),
        functions.keys().cloned().collect::<BTreeSet<_>>()
    );
    for (id, (_, function)) in &functions {
        let given: BTreeSet<String> = env[id].as_object().unwrap().keys().cloned().collect();
        // sam local invoke --env-vars only overrides variables the template declares.
        assert_eq!(given, variables_of(*function), "{id}");
    }
}

/// A function's role, when the template gives it one of its own (`Role: !GetAtt X.Arn`).
fn own_role(template: &Value, function_id: &str) -> Option<Value> {
    let role = &resources(template)[function_id]["Properties"]["Role"];
    (!role.is_null()).then(|| role.clone())
}

/// The statements that grant `function_id` something: its SAM `Policies`, or its own role's
/// policies (the conditional ones, off in a default deployment, left out) and the assertion key's
/// statements that name that role.
fn statements_granting(template: &Value, function_id: &str) -> Vec<(Value, Value)> {
    let key_arn: Value = serde_yaml::from_str("!GetAtt AssertionKey.Arn").unwrap();
    let Some(role) = own_role(template, function_id) else {
        return resources(template)[function_id]["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|p| p["Statement"].as_sequence().unwrap().clone())
            .map(|s| (s["Resource"].clone(), s))
            .collect();
    };
    let serde_yaml::Value::Tagged(tagged) = &role else {
        panic!("{function_id}: Role must be !GetAtt <role>.Arn");
    };
    let role_id = tagged.value.as_str().unwrap().trim_end_matches(".Arn");
    let identity = resources(template)[role_id]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|p| !matches!(p, serde_yaml::Value::Tagged(_)))
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_sequence()
                .unwrap()
                .clone()
        })
        .map(|s| (s["Resource"].clone(), s));
    let by_key = resources(template)["AssertionKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|s| s["Principal"]["AWS"] == role)
        .map(|s| (key_arn.clone(), s.clone()));
    identity.chain(by_key).collect()
}

/// Logical function id → the actions its policies allow (`dynamodb:PutItem`, `kms:Sign`), each
/// on the one resource it may touch: DynamoDB actions on the table, KMS actions on the assertion
/// key, and `kms:Sign` only for ECDSA_SHA_256 over RAW messages.
fn actions_granted(template: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let table_arn: Value = serde_yaml::from_str("!GetAtt VerificationsTable.Arn").unwrap();
    let key_arn: Value = serde_yaml::from_str("!GetAtt AssertionKey.Arn").unwrap();
    functions(template)
        .into_keys()
        .map(|id| {
            let mut actions = BTreeSet::new();
            for (resource, statement) in statements_granting(template, &id) {
                assert_eq!(statement["Effect"], "Allow", "{id}");
                let listed = actions_of(&statement);
                for action in listed {
                    match action.split_once(':') {
                        Some(("dynamodb", _)) => {
                            assert_eq!(resource, table_arn, "{id}: {action} on the table only")
                        }
                        Some(("secretsmanager", "GetSecretValue")) => {
                            assert!(resource.is_sequence(), "{id}: {action} on named secrets");
                        }
                        Some(("kms", operation)) => {
                            assert_eq!(resource, key_arn, "{id}: {action}");
                            if operation == "Sign" {
                                let only = &statement["Condition"]["StringEquals"];
                                assert_eq!(only["kms:SigningAlgorithm"], "ECDSA_SHA_256");
                                assert_eq!(only["kms:MessageType"], "RAW");
                            }
                        }
                        _ => panic!(
                            "{id}: {action} is not a DynamoDB, KMS or Secrets Manager action"
                        ),
                    }
                    actions.insert(action);
                }
            }
            (id, actions)
        })
        .collect()
}

/// A statement's `Action`: one, or a list.
fn actions_of(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(one) => vec![one.clone()],
        many => many
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
    }
}

/// Whether an IAM action pattern (`kms:*`, `kms:S*`, `*`) covers `action`.
fn covers(pattern: &str, action: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern.eq_ignore_ascii_case(action),
        Some((prefix, _)) => action
            .to_ascii_lowercase()
            .starts_with(&prefix.to_ascii_lowercase()),
    }
}

/// The trust root is as narrow as the README says: the assertion key's policy lets the poll
/// function's role, and no one else, `kms:Sign` (ECDSA_SHA_256 over RAW messages only), and the
/// account keeps administering the key without `Sign`, so no identity policy in the account (an
/// administrator's, a CI role's `kms:Sign` on `*`) can sign with it.
#[test]
fn only_the_poll_functions_role_can_sign_assertions() {
    let template = template();
    let poll_role: Value = serde_yaml::from_str("!GetAtt PollFunctionRole.Arn").unwrap();
    let key = &resources(&template)["AssertionKey"]["Properties"]["KeyPolicy"];
    let mut signers = Vec::new();
    let mut administered = BTreeSet::new();
    for statement in key["Statement"].as_sequence().unwrap() {
        assert_eq!(statement["Effect"], "Allow");
        assert!(statement["NotAction"].is_null() && statement["NotPrincipal"].is_null());
        let actions = actions_of(statement);
        if actions.iter().any(|a| covers(a, "kms:Sign")) {
            assert_eq!(actions, ["kms:Sign"], "Sign is granted alone");
            let only = &statement["Condition"]["StringEquals"];
            assert_eq!(only["kms:SigningAlgorithm"], "ECDSA_SHA_256");
            assert_eq!(only["kms:MessageType"], "RAW");
            signers.push(statement["Principal"]["AWS"].clone());
        }
        let principal = format!("{:?}", statement["Principal"]["AWS"]);
        if principal.contains(":root") {
            administered.extend(actions.clone());
        }
    }
    assert_eq!(
        signers,
        std::slice::from_ref(&poll_role),
        "the poll function's role alone signs"
    );
    for needed in [
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
        "kms:DescribeKey",
    ] {
        assert!(
            administered.iter().any(|a| covers(a, needed)),
            "the account keeps {needed}"
        );
    }
    assert_eq!(
        resources(&template)["PollFunction"]["Properties"]["Role"],
        poll_role
    );
    // The role's own policies grant no KMS signing either.
    for policy in resources(&template)["PollFunctionRole"]["Properties"]["Policies"]
        .as_sequence()
        .unwrap()
    {
        assert!(!format!("{policy:?}").contains("kms:Sign"), "{policy:?}");
    }
}

/// Least privilege, held against the code: one app per template function, each reaching the same
/// table and KMS key through its own recording proxy, runs every path of that function (the rare
/// ones too: an Idempotency-Key released after a failure, a result that arrives before its
/// verification, a wrong redeem). A missing grant would be an AccessDenied in production, a
/// surplus one a wider blast radius.
#[tokio::test]
async fn each_function_is_granted_exactly_the_actions_it_calls() {
    let template = template();
    let table = dynamodb_table_at(&test_dynamodb_endpoint()).await;
    let key = kms_key(&test_dynamodb_endpoint()).await;
    let mut deployed: Vec<(String, Function, TestApp, FaultyDynamoDb)> = Vec::new();
    for (id, (_, function)) in functions(&template) {
        let proxy = FaultyDynamoDb::start(test_dynamodb_endpoint()).await;
        let store = dynamodb_store_on(&proxy.endpoint, &table);
        let keys = keys_in_secrets_manager(&test_dynamodb_endpoint(), &proxy.endpoint).await;
        let mut env = vec![
            ("INFOBIP_TIMEOUT_MS", "5000"),
            ("ASSERTION_KEY_ID", key.as_str()),
            ("AWS_ENDPOINT_URL_KMS", proxy.endpoint.as_str()),
        ];
        env.extend(keys.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let app = test_app_with(&env, store).await;
        deployed.push((id, function, app, proxy));
    }
    let app = |f: Function| &deployed.iter().find(|d| d.1 == f).unwrap().2;
    let (starter, callbacks, polls) = (
        app(Function::Start),
        app(Function::Callback),
        app(Function::Poll),
    );

    // The Brazil race first (it uses TOKEN): the callback function keeps the early result, the
    // start picks it up.
    let (started, early, _) = starter.brazil_race_across(callbacks, polls, "VALID").await;
    assert_eq!(started.status(), 201, "{}", body_text(&started));
    assert_eq!(early.status(), 200, "{}", body_text(&early));

    // A plain start; an Idempotency-Key start and its replay; one released after Infobip failed.
    starter.infobip.reset().await;
    let genuine = starter.start_pending(OTHER_TOKEN).await;
    starter.infobip.reset().await;
    starter
        .infobip_redirects("7c9e6679-7425-40de-944b-e07fc1f90ae7")
        .await;
    for _ in 0..2 {
        let keyed = starter.send(keyed_start("k-1", PHONE)).await;
        assert_eq!(keyed.status(), 201, "{}", body_text(&keyed));
    }
    starter.infobip.reset().await;
    starter.infobip_answers(503, serde_json::json!({}), 1).await;
    assert_problem(&starter.send(keyed_start("k-2", PHONE)).await, 503);

    // The genuine result, a repeat, a forged secret.
    let valid = serde_json::json!({"result": "VALID", "token": OTHER_TOKEN});
    for _ in 0..2 {
        let recorded = callbacks.callback(&genuine, valid.clone()).await;
        assert_eq!(recorded.status(), 200, "{}", body_text(&recorded));
    }
    let forged = format!("/callbacks/infobip/{}", "A".repeat(43));
    let forged = callbacks.callback(&forged, valid).await;
    assert!(forged.status().is_client_error(), "{}", body_text(&forged));

    // A bound verification: its device's return, a wrong redeem, the redeem, the key set.
    starter.infobip.reset().await;
    let bound = "5d2c8f4e-1b3a-4c5d-9e6f-7a8b9c0d1e2f";
    let answer = serde_json::json!({"status": "REDIRECT", "token": bound, "deviceRedirectUrl": REDIRECT_URL});
    let (callback, back) = starter.start_bound(bound, PHONE, answer).await;
    let valid = serde_json::json!({"result": "VALID", "token": bound});
    assert_eq!(callbacks.callback(&callback, valid).await.status(), 200);
    let code = polls.device_code(&back).await;
    let wrong = serde_json::json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": "+447911123457"});
    assert_problem(&polls.redeem(bound, wrong).await, 403);
    let right =
        serde_json::json!({"codeVerifier": VERIFIER, "deviceCode": code, "phoneNumber": PHONE});
    let redeemed = polls.redeem(bound, right).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    polls.jwks().await;

    // Both settled tokens, and an unknown one.
    assert_eq!(polls.status(TOKEN).await, "VALID");
    assert_eq!(polls.status(OTHER_TOKEN).await, "VALID");
    let unknown = polls.poll("0b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d").await;
    assert_eq!(unknown.0, 404);

    let called: BTreeMap<String, BTreeSet<String>> = deployed
        .iter()
        .map(|(id, _, _, proxy)| (id.clone(), proxy.seen().into_iter().collect()))
        .collect();
    assert_eq!(
        actions_granted(&template),
        called,
        "template grants (left) and the AWS operations the functions called (right) differ"
    );
}

/// `openapi.yaml` describes every route of the table, with the same method, and nothing else.
#[test]
fn openapi_describes_exactly_the_routes_served() {
    let raw = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let openapi: Value = serde_yaml::from_str(&raw).unwrap();
    let mut described = BTreeSet::new();
    for (path, operations) in openapi["paths"].as_mapping().unwrap() {
        for (method, _) in operations.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "post", "put", "patch", "delete", "head", "options"].contains(&method) {
                let path = path.as_str().unwrap();
                described.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let served: BTreeSet<String> = all_routes().iter().map(RouteInfo::name).collect();
    assert_eq!(
        described, served,
        "openapi.yaml (left) and the route table (right)"
    );
}

/// The template refuses the unsafe CloudFront combinations (as the start function does at
/// start-up), turns off the execute-api endpoint when CloudFront is trusted, and keeps the
/// demo-app routes off by default.
#[test]
fn unsafe_settings_cannot_be_deployed() {
    let template = template();
    let rules = template["Rules"].as_mapping().unwrap();
    let trust_rule = &template["Rules"]["CloudFrontTrustNeedsItsOriginSecret"];
    assert_eq!(
        serde_yaml::to_string(&trust_rule["RuleCondition"]).unwrap(),
        "!Equals\n- !Ref TrustCloudFrontViewerAddress\n- 'true'\n"
    );
    let asserted: Vec<String> = trust_rule["Assertions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| serde_yaml::to_string(&a["Assert"]).unwrap())
        .collect();
    for parameter in [
        "CloudFrontOriginSecretHeader",
        "CloudFrontOriginSecret",
        "CallbackBaseUrl",
    ] {
        assert!(
            asserted.iter().any(|a| a.contains(parameter)),
            "trust requires {parameter}: {asserted:?}"
        );
    }
    assert!(rules.contains_key("OriginSecretOnlyWithCloudFrontTrust"));
    let disabled = &resources(&template)["Api"]["Properties"]["DisableExecuteApiEndpoint"];
    assert_eq!(
        serde_yaml::to_string(disabled).unwrap(),
        "!If\n- TrustsCloudFront\n- true\n- false\n"
    );
    assert_eq!(template["Parameters"]["DemoAppRoutes"]["Default"], "false");
    assert_eq!(
        template["Parameters"]["TrustCloudFrontViewerAddress"]["Default"],
        "false"
    );
}

/// A flood of any other route cannot use up the callback route's throttle budget, nor the
/// callback function's executions; and the key that tags callback secrets is generated by the
/// stack, reaching only the two functions that issue and check them.
#[test]
fn the_callback_route_has_its_own_budget_and_reserved_concurrency() {
    let template = template();
    let callback = &resources(&template)["CallbackFunction"]["Properties"];
    let settings = &callback["Events"]["InfobipCallback"]["Properties"]["RouteSettings"];
    for (setting, parameter) in [
        ("ThrottlingBurstLimit", "CallbackThrottlingBurstLimit"),
        ("ThrottlingRateLimit", "CallbackThrottlingRateLimit"),
    ] {
        assert_eq!(
            serde_yaml::to_string(&settings[setting]).unwrap(),
            format!("!Ref {parameter}\n"),
            "{setting}"
        );
        let default = template["Parameters"][parameter]["Default"]
            .as_u64()
            .unwrap();
        assert!(default > 0, "{parameter}");
    }
    let reserved = serde_yaml::to_string(&callback["ReservedConcurrentExecutions"]).unwrap();
    assert!(
        reserved.contains("ReservesCallbackConcurrency")
            && reserved.contains("CallbackReservedConcurrency"),
        "{reserved}"
    );
    assert!(
        template["Parameters"]["CallbackReservedConcurrency"]["Default"]
            .as_u64()
            .unwrap()
            > 0
    );
    let key = &resources(&template)["CallbackSecretKey"];
    assert_eq!(key["Type"], "AWS::SecretsManager::Secret");
    assert!(
        key["Properties"]["GenerateSecretString"]["PasswordLength"]
            .as_u64()
            .unwrap()
            >= 32
    );
}

/// API Gateway answers cross-origin calls deployed; smv-local answers them with the same
/// settings; and the page can be turned off.
#[test]
fn cors_and_the_web_page_are_configured_as_served_locally() {
    use smv_shared::http::cors::{ALLOW_HEADERS, ALLOW_METHODS, MAX_AGE_SECONDS};
    let template = template();
    let cors = &resources(&template)["Api"]["Properties"]["CorsConfiguration"];
    let serde_yaml::Value::Tagged(when) = cors else {
        panic!("CorsConfiguration only where origins are configured: {cors:?}")
    };
    let [condition, configured, _otherwise] = when.value.as_sequence().unwrap().as_slice() else {
        panic!("!If [condition, configuration, AWS::NoValue]")
    };
    assert_eq!(condition, "HasCorsOrigins");
    let strings = |v: &Value| -> Vec<String> {
        v.as_sequence()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(strings(&configured["AllowMethods"]), ALLOW_METHODS);
    assert_eq!(strings(&configured["AllowHeaders"]), ALLOW_HEADERS);
    assert_eq!(configured["MaxAge"].as_u64(), Some(MAX_AGE_SECONDS));
    assert!(serde_yaml::to_string(&configured["AllowOrigins"])
        .unwrap()
        .contains("CorsAllowedOrigins"));
    assert_eq!(template["Parameters"]["WebPage"]["Default"], "true");
}

/// Fallback costs money per PIN and invites SMS pumping: off unless countries are listed, and a
/// stack that lists them without its 2FA application cannot be deployed.
#[test]
fn fallback_is_off_by_default_and_needs_its_two_factor_application() {
    let template = template();
    let parameters = &template["Parameters"];
    assert_eq!(parameters["FallbackCountries"]["Default"], "");
    assert_eq!(parameters["FallbackOnInvalid"]["Default"], "false");
    assert_eq!(parameters["SimSwapOnUnknown"]["Default"], "deny");
    assert_eq!(
        parameters["SimSwapCheckHours"]["Default"].as_u64(),
        Some(72)
    );
    let rule = &template["Rules"]["FallbackNeedsItsTwoFactorApplication"];
    let asserted = serde_yaml::to_string(&rule["Assertions"]).unwrap();
    for parameter in ["TwofaApplicationId", "TwofaMessageId"] {
        assert!(asserted.contains(parameter), "{asserted}");
    }
    assert!(serde_yaml::to_string(&rule["RuleCondition"])
        .unwrap()
        .contains("FallbackCountries"));
}

/// The OpenID Provider's registry is the operator's secret, named by a parameter: only the poll
/// function may read it, and only when one is named; the subject key is never replaced.
#[test]
fn the_client_registry_is_read_by_the_poll_function_only_when_named() {
    let template = template();
    let poll = &resources(&template)["PollFunctionRole"]["Properties"]["Policies"];
    let text = format!("{poll:?}");
    assert!(
        text.contains("HasOidcClients") && text.contains("OidcClientsSecretArn"),
        "{text}"
    );
    for other in ["StartVerifyFunction", "CallbackFunction"] {
        let policies = format!(
            "{:?}",
            resources(&template)[other]["Properties"]["Policies"]
        );
        assert!(
            !policies.contains("OidcClientsSecretArn") && !policies.contains("SubjectKeySecret"),
            "{other}"
        );
    }
    let subject = &resources(&template)["SubjectKeySecret"];
    assert_eq!(subject["DeletionPolicy"], "Retain");
    assert_eq!(subject["UpdateReplacePolicy"], "Retain");
}
