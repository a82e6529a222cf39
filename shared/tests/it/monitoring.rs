//! The dashboard and the alarms in `template.yaml` held to the metrics the code emits: a metric
//! renamed, a dimension dropped or a value respelled in the code fails here, not in an operator's
//! empty graph or an alarm that can never fire.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;
use serde_yaml::Value;
use smv_shared::metrics::{catalogue, emf_document, NAMESPACE};

use crate::template::{resources, template};

/// Dimensions whose values are not a fixed set: any value is one the code can emit.
const FREE_VALUES: [&str; 2] = ["ErrorId", "Country"];

/// A metric as a dashboard or an alarm names it: namespace, name, dimension name → value (a
/// resource's logical id for a `!Ref` or `${…}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Named {
    namespace: String,
    name: String,
    dimensions: BTreeMap<String, String>,
}

/// Every (name, dimensions) the code emits, from one document of each metric and dimension value.
fn emitted() -> BTreeSet<(String, BTreeMap<String, String>)> {
    let mut emitted = BTreeSet::new();
    for metric in catalogue() {
        let document = emf_document(&metric, "test", 0);
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        for named in directive["Metrics"].as_array().unwrap() {
            for set in directive["Dimensions"].as_array().unwrap() {
                let dimensions = set
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|key| {
                        let key = key.as_str().unwrap();
                        let value = match FREE_VALUES.contains(&key) {
                            true => "*".to_owned(),
                            false => document[key].as_str().unwrap().to_owned(),
                        };
                        (key.to_owned(), value)
                    })
                    .collect();
                emitted.insert((named["Name"].as_str().unwrap().to_owned(), dimensions));
            }
        }
    }
    emitted
}

/// The AWS metrics the stack watches, with the dimensions each is published by and the type of
/// resource each dimension names.
fn aws_metric(namespace: &str, name: &str) -> Option<&'static [(&'static str, &'static str)]> {
    const FUNCTION: &[(&str, &str)] = &[("FunctionName", "AWS::Serverless::Function")];
    const API: &[(&str, &str)] = &[("ApiId", "AWS::Serverless::HttpApi")];
    const TABLE: &[(&str, &str)] = &[("TableName", "AWS::DynamoDB::Table")];
    const TABLE_OPERATION: &[(&str, &str)] =
        &[("TableName", "AWS::DynamoDB::Table"), ("Operation", "")];
    match (namespace, name) {
        (
            "AWS/Lambda",
            "Errors" | "Throttles" | "Duration" | "ConcurrentExecutions" | "Invocations",
        ) => Some(FUNCTION),
        ("AWS/ApiGateway", "Count" | "4xx" | "5xx" | "Latency") => Some(API),
        ("AWS/DynamoDB", "ConsumedReadCapacityUnits" | "ConsumedWriteCapacityUnits") => Some(TABLE),
        ("AWS/DynamoDB", "ThrottledRequests") => Some(TABLE_OPERATION),
        _ => None,
    }
}

/// Why `metric` is not one that exists, if it is not.
fn problem_with(metric: &Named, template: &Value) -> Option<String> {
    if metric.namespace == NAMESPACE {
        // `*`: a SEARCH's any value, or a value the code does not fix.
        let matches = |wanted: &String, emitted: &String| {
            wanted == emitted || wanted == "*" || emitted == "*"
        };
        let known = emitted().iter().any(|(name, dimensions)| {
            *name == metric.name
                && dimensions.keys().eq(metric.dimensions.keys())
                && dimensions
                    .values()
                    .zip(metric.dimensions.values())
                    .all(|(emitted, wanted)| matches(wanted, emitted))
        });
        return (!known).then(|| format!("the code emits no {metric:?}"));
    }
    let Some(dimensions) = aws_metric(&metric.namespace, &metric.name) else {
        return Some(format!("{metric:?} is not an AWS metric this test knows"));
    };
    let keys: BTreeSet<&str> = metric.dimensions.keys().map(String::as_str).collect();
    if keys != dimensions.iter().map(|(key, _)| *key).collect() {
        return Some(format!("{metric:?} is published by {dimensions:?}"));
    }
    for (key, resource_type) in dimensions {
        let value = &metric.dimensions[*key];
        let resource = &resources(template).get(value.as_str());
        match resource {
            _ if resource_type.is_empty() => {
                // Operation: one the functions are granted (and so call).
                if !["GetItem", "PutItem", "UpdateItem", "DeleteItem"].contains(&value.as_str()) {
                    return Some(format!("{metric:?}: the functions never call {value}"));
                }
            }
            Some(resource) if resource["Type"] == *resource_type => {}
            _ => return Some(format!("{metric:?}: {value} is not a {resource_type}")),
        }
    }
    None
}

/// `${Name}` of a `!Sub` string replaced by `Name`, the way a dimension names its resource.
fn substituted(sub: &str) -> String {
    let mut out = String::new();
    let mut rest = sub;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').unwrap() + at;
        out.push_str(&rest[at + 2..end]);
        rest = &rest[end + 1..];
    }
    out + rest
}

fn dashboard_body(template: &Value) -> Json {
    let body = &resources(template)["Dashboard"]["Properties"]["DashboardBody"];
    let Value::Tagged(sub) = body else {
        panic!("DashboardBody is a !Sub")
    };
    serde_json::from_str(&substituted(sub.value.as_str().unwrap())).unwrap()
}

/// Identifiers an expression reads (`m1`, `started`), not its functions (`FILL`, `SEARCH`).
fn identifiers(expression: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut quoted = false;
    for word in expression.split(|c: char| {
        if c == '\'' {
            quoted = !quoted;
        }
        !(c.is_ascii_alphanumeric() || c == '_') || quoted
    }) {
        if word.starts_with(|c: char| c.is_ascii_lowercase()) {
            found.insert(word.to_owned());
        }
    }
    found
}

/// The metric a `SEARCH('{Namespace,Key,…} MetricName="Name" Key="Value"', …)` finds.
fn searched(expression: &str) -> Named {
    let schema = &expression[expression.find('{').unwrap() + 1..expression.find('}').unwrap()];
    let mut parts = schema.split(',');
    let namespace = parts.next().unwrap().to_owned();
    let keys: Vec<&str> = parts.collect();
    let filters: BTreeMap<&str, &str> = expression[expression.find('}').unwrap() + 1..]
        .split_whitespace()
        .filter_map(|term| term.split_once('='))
        .map(|(key, value)| (key, value.split('"').nth(1).unwrap_or(value)))
        .collect();
    Named {
        namespace,
        name: filters["MetricName"].to_owned(),
        dimensions: keys
            .iter()
            .map(|key| {
                let value = filters.get(key).copied().unwrap_or("*");
                ((*key).to_owned(), value.to_owned())
            })
            .collect(),
    }
}

/// Every metric of the dashboard's widgets, and every identifier its expressions read without
/// a metric of that id in the same widget.
fn dashboard_metrics(body: &Json) -> (Vec<Named>, Vec<String>) {
    let (mut metrics, mut undefined) = (Vec::new(), Vec::new());
    for widget in body["widgets"].as_array().unwrap() {
        let Some(rows) = widget["properties"]["metrics"].as_array() else {
            continue;
        };
        let mut ids = BTreeSet::new();
        let mut read = BTreeSet::new();
        for row in rows {
            let row = row.as_array().unwrap();
            let options = row.last().filter(|o| o.is_object());
            if let Some(id) = options.and_then(|o| o["id"].as_str()) {
                ids.insert(id.to_owned());
            }
            if let Some(expression) = row[0]["expression"].as_str() {
                if expression.contains("SEARCH(") {
                    metrics.push(searched(expression));
                } else {
                    read.extend(identifiers(expression));
                }
                continue;
            }
            let texts: Vec<&str> = row.iter().filter_map(Json::as_str).collect();
            metrics.push(Named {
                namespace: texts[0].to_owned(),
                name: texts[1].to_owned(),
                dimensions: texts[2..]
                    .chunks(2)
                    .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
                    .collect(),
            });
        }
        undefined.extend(read.difference(&ids).cloned());
    }
    (metrics, undefined)
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(n) => n.to_string(),
        // `!Ref Resource`: the resource's logical id.
        Value::Tagged(tagged) => tagged.value.as_str().unwrap().to_owned(),
        other => panic!("unexpected {other:?}"),
    }
}

fn named(namespace: &Value, name: &Value, dimensions: &Value) -> Named {
    Named {
        namespace: text_of(namespace),
        name: text_of(name),
        dimensions: dimensions
            .as_sequence()
            .map(|all| {
                all.iter()
                    .map(|d| (text_of(&d["Name"]), text_of(&d["Value"])))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn alarms(template: &Value) -> Vec<(String, &Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), &r["Properties"]))
        .collect()
}

#[test]
fn the_dashboard_shows_only_metrics_the_code_emits() {
    let template = template();
    let (metrics, undefined) = dashboard_metrics(&dashboard_body(&template));
    let problems: Vec<String> = metrics
        .iter()
        .filter_map(|metric| problem_with(metric, &template))
        .collect();
    assert_eq!(problems, Vec::<String>::new());
    assert_eq!(
        undefined,
        Vec::<String>::new(),
        "expressions read these ids"
    );
    assert!(metrics.len() > 30, "{} metrics", metrics.len());
}

#[test]
fn the_dashboard_shows_every_metric_the_code_emits() {
    let template = template();
    let (metrics, _) = dashboard_metrics(&dashboard_body(&template));
    let shown: BTreeSet<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    let not_shown: Vec<String> = emitted()
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !shown.contains(name.as_str()))
        .collect();
    assert_eq!(not_shown, Vec::<String>::new());
    // What an operator looks for, whatever the code emits.
    for aws in [
        "Throttles",
        "ConcurrentExecutions",
        "ThrottledRequests",
        "5xx",
        "4xx",
    ] {
        assert!(shown.contains(aws), "{aws} is not on the dashboard");
    }
}

#[test]
fn every_alarm_watches_an_existing_metric_and_says_what_to_do() {
    let template = template();
    let alarms = alarms(&template);
    assert!(alarms.len() >= 15, "{} alarms", alarms.len());
    for (id, alarm) in &alarms {
        let description = text_of(&alarm["AlarmDescription"]);
        assert!(description.contains("Runbook"), "{id} names no runbook");
        let mut watched = Vec::new();
        if let Some(queries) = alarm["Metrics"].as_sequence() {
            let ids: BTreeSet<String> = queries.iter().map(|q| text_of(&q["Id"])).collect();
            let returned: Vec<&Value> = queries
                .iter()
                .filter(|q| q["ReturnData"] == Value::Bool(true))
                .collect();
            assert_eq!(returned.len(), 1, "{id}: one query is the alarm's value");
            for query in queries {
                if query["Expression"] != Value::Null {
                    let expression = substituted(&text_of(&query["Expression"]));
                    let read = identifiers(&expression);
                    let unknown: Vec<&String> = read
                        .iter()
                        .filter(|name| !ids.contains(*name) && !is_parameter(&template, name))
                        .collect();
                    assert!(unknown.is_empty(), "{id}: {expression} reads {unknown:?}");
                } else {
                    let metric = &query["MetricStat"]["Metric"];
                    let period = query["MetricStat"]["Period"].as_u64().unwrap();
                    assert!(period.is_multiple_of(60), "{id}: a period of {period} s");
                    watched.push(named(
                        &metric["Namespace"],
                        &metric["MetricName"],
                        &metric["Dimensions"],
                    ));
                }
            }
        } else {
            watched.push(named(
                &alarm["Namespace"],
                &alarm["MetricName"],
                &alarm["Dimensions"],
            ));
        }
        assert!(!watched.is_empty(), "{id} watches nothing");
        for metric in &watched {
            if let Some(problem) = problem_with(metric, &template) {
                panic!("{id}: {problem}");
            }
        }
    }
}

#[test]
fn rates_are_judged_only_above_a_minimum_of_traffic() {
    let template = template();
    for (id, alarm) in alarms(&template) {
        let Some(queries) = alarm["Metrics"].as_sequence() else {
            continue;
        };
        let value = queries
            .iter()
            .find(|q| q["ReturnData"] == Value::Bool(true))
            .unwrap();
        let expression = substituted(&text_of(&value["Expression"]));
        // A sum of throttles is a count that means trouble at any traffic; a ratio is not.
        if expression.contains('/') {
            assert!(
                expression.starts_with("IF(") && expression.contains("AlarmMinimum"),
                "{id}: {expression} divides without a minimum of traffic"
            );
        }
    }
}

fn is_parameter(template: &Value, name: &str) -> bool {
    template["Parameters"].get(name).is_some()
}

#[test]
fn the_search_parser_reads_schema_and_filters() {
    let metric = searched(
        r#"SEARCH('{SilentMobileVerification,Country,Outcome} MetricName="Results" Outcome="VALID"', 'Sum', 300)"#,
    );
    assert_eq!(metric.name, "Results");
    assert_eq!(
        metric.dimensions,
        BTreeMap::from([
            ("Country".to_owned(), "*".to_owned()),
            ("Outcome".to_owned(), "VALID".to_owned())
        ])
    );
    assert_eq!(
        identifiers("IF(FILL(started, 0) >= AlarmMinimumStarts, 100 * valid / started, 100)"),
        BTreeSet::from(["started".to_owned(), "valid".to_owned()])
    );
}
