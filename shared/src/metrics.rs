//! Business metrics in CloudWatch Embedded Metric Format: one JSON document per metric, written to
//! stdout, which CloudWatch Logs turns into metrics without any API call from the function.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::fallback::{Channel, Method};
use crate::method_policy::SilentMethod;
use crate::time::{Clock, SystemClock};
use crate::verification::Status;

pub const NAMESPACE: &str = "SilentMobileVerification";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// The secret in the URL does not belong to the verification named in the body.
    Forged,
    /// Not JSON, or not Infobip's callback shape.
    Malformed,
    /// No verification with this token (yet): kept aside, but nothing a poll can see.
    UnknownToken,
}

impl RefusalReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Forged => "Forged",
            Self::Malformed => "Malformed",
            Self::UnknownToken => "UnknownToken",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitedBy {
    Infobip,
    Ours(crate::rate_limit::Scope),
}

impl LimitedBy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Infobip => "Infobip",
            Self::Ours(scope) => scope.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metric {
    /// Infobip accepted a verification (REDIRECT or OK) and it is stored.
    VerificationStarted(Origin),
    /// A final result was recorded, `time_to_result` after the verification started.
    ResultRecorded {
        status: Status,
        origin: Origin,
        time_to_result: Duration,
    },
    CallbackRefused(RefusalReason),
    /// A start refused because of a rate limit: ours (by phone number or device IP) or Infobip's.
    StartRateLimited(LimitedBy),
    /// Infobip reported error `id`, in a verify answer or a callback.
    InfobipError {
        id: i32,
    },
    /// A fallback PIN was sent (or sent again) by `channel`: watch it against `PinsVerified` (by
    /// channel; there is no country dimension) for SMS pumping.
    PinSent(Channel),
    /// A PIN the user typed was wrong.
    PinRejected,
    /// A verification became VALID by a PIN.
    PinVerified(Channel),
    /// Our SIM-swap check found a swap (before a PIN, or before an assertion).
    SimSwapDetected,
    /// One call to Infobip (`api`: `Verify`, `SimSwap`, `Pin`) answered, or failed, after `latency`.
    InfobipCall {
        api: &'static str,
        latency: Duration,
    },
    /// KMS throttled a signature: the redeem answered 503 (the ECC request quota is the first to
    /// raise before an event).
    SigningThrottled,
}

/// How and where a verification ran: the dimensions conversion (VALID ÷ started) is read by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub method: Method,
    /// ISO 3166 alpha-2 of the number's country, when its numbering plan names one.
    pub country: Option<String>,
}

impl Origin {
    /// Every verification starts on its silent method (a PIN completion is counted by
    /// `PinsVerified`), so its silent result is what `Results` counts.
    pub fn of(verification: &crate::verification::Verification) -> Self {
        Self {
            method: Method::Silent(verification.silent_method),
            country: verification.country.clone(),
        }
    }

    fn dimensions(&self) -> [(&'static str, String); 2] {
        [
            ("Method", self.method.as_str().to_owned()),
            (
                "Country",
                self.country.as_deref().unwrap_or("unknown").to_owned(),
            ),
        ]
    }
}

pub trait MetricsSink: Send + Sync {
    fn emit(&self, metric: &Metric);
}

/// The EMF document for `metric`, timestamped `timestamp_ms`, naming `function` as a property.
pub fn emf_document(metric: &Metric, function: &str, timestamp_ms: u64) -> Value {
    let named = |key: &'static str, value: &str| vec![(key, value.to_owned())];
    let (name, unit, value, dimensions): (&str, &str, u64, Vec<(&str, String)>) = match metric {
        Metric::VerificationStarted(origin) => (
            "VerificationsStarted",
            "Count",
            1,
            origin.dimensions().into(),
        ),
        Metric::ResultRecorded { status, origin, .. } => {
            let mut dimensions = named("Outcome", status.as_str());
            dimensions.extend(origin.dimensions());
            ("Results", "Count", 1, dimensions)
        }
        Metric::CallbackRefused(reason) => (
            "CallbacksRefused",
            "Count",
            1,
            named("Reason", reason.as_str()),
        ),
        Metric::StartRateLimited(by) => (
            "RateLimitedStarts",
            "Count",
            1,
            named("LimitedBy", by.as_str()),
        ),
        Metric::InfobipError { id } => (
            "InfobipErrors",
            "Count",
            1,
            named("ErrorId", &id.to_string()),
        ),
        Metric::PinSent(channel) => ("PinsSent", "Count", 1, named("Channel", channel.as_str())),
        Metric::PinRejected => ("PinsRejected", "Count", 1, vec![]),
        Metric::PinVerified(channel) => (
            "PinsVerified",
            "Count",
            1,
            named("Channel", channel.as_str()),
        ),
        Metric::SimSwapDetected => ("SimSwapsDetected", "Count", 1, vec![]),
        Metric::InfobipCall { api, latency } => (
            "InfobipLatency",
            "Milliseconds",
            latency.as_millis() as u64,
            named("Api", api),
        ),
        Metric::SigningThrottled => ("SigningThrottled", "Count", 1, vec![]),
    };
    let mut metrics = vec![json!({"Name": name, "Unit": unit})];
    let mut root = Map::new();
    root.insert(name.to_owned(), json!(value));
    if let Metric::ResultRecorded { time_to_result, .. } = metric {
        metrics.push(json!({"Name": "TimeToResult", "Unit": "Milliseconds"}));
        root.insert(
            "TimeToResult".to_owned(),
            json!(time_to_result.as_millis() as u64),
        );
    }
    for (key, value) in &dimensions {
        root.insert((*key).to_owned(), json!(value));
    }
    root.insert("function".to_owned(), json!(function));
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimension_sets(metric, &dimensions),
                "Metrics": metrics,
            }]
        }),
    );
    Value::Object(root)
}

/// The dimension sets each metric is counted by (each set is a metric of its own to CloudWatch,
/// billed monthly): every kind by all of its dimensions; the totals the dashboard and the ratio
/// alarms divide (starts and results of the deployment and of each method, refused starts of all
/// limits) also by fewer.
fn dimension_sets(metric: &Metric, dimensions: &[(&str, String)]) -> Value {
    let keys: Vec<&str> = dimensions.iter().map(|(key, _)| *key).collect();
    match metric {
        Metric::VerificationStarted(_) => json!([[], ["Method"], keys]),
        Metric::ResultRecorded { .. } => json!([["Outcome"], ["Outcome", "Method"], keys]),
        Metric::StartRateLimited(_) => json!([keys, []]),
        _ => json!([keys]),
    }
}

/// One of every metric, with every value of each dimension that has a fixed set of values (the
/// free ones, `ErrorId` and `Country`, with one example): what the dashboard and the alarms in
/// `template.yaml` are checked against.
pub fn catalogue() -> Vec<Metric> {
    // What a callback records; EXPIRED is a reading of the clock, never recorded.
    const RECORDED: [Status; 3] = [Status::Valid, Status::Invalid, Status::Error];
    use crate::rate_limit::Scope;
    let origins = SilentMethod::ALL.map(|method| Origin {
        method: Method::Silent(method),
        country: Some("GB".into()),
    });
    let mut all: Vec<Metric> = origins
        .iter()
        .cloned()
        .map(Metric::VerificationStarted)
        .collect();
    all.extend([
        Metric::CallbackRefused(RefusalReason::Forged),
        Metric::CallbackRefused(RefusalReason::Malformed),
        Metric::CallbackRefused(RefusalReason::UnknownToken),
        Metric::StartRateLimited(LimitedBy::Infobip),
        Metric::InfobipError { id: 306 },
        Metric::PinRejected,
        Metric::SimSwapDetected,
        Metric::SigningThrottled,
    ]);
    for origin in &origins {
        all.extend(RECORDED.map(|status| Metric::ResultRecorded {
            status,
            origin: origin.clone(),
            time_to_result: Duration::from_secs(2),
        }));
    }
    all.extend(Scope::ALL.map(|scope| Metric::StartRateLimited(LimitedBy::Ours(scope))));
    for channel in Channel::ALL {
        all.extend([Metric::PinSent(channel), Metric::PinVerified(channel)]);
    }
    all.extend(crate::infobip::APIS.map(|api| Metric::InfobipCall {
        api,
        latency: Duration::from_millis(400),
    }));
    all
}

/// Checks the EMF specification's rules: `_aws` with a millisecond timestamp; each directive names
/// a namespace, dimension sets whose keys are root string members, and metrics whose names are
/// root numeric members.
pub fn check_emf(document: &Value) -> Result<(), String> {
    let aws = document.get("_aws").ok_or("no _aws member")?;
    aws["Timestamp"]
        .as_u64()
        .ok_or("_aws.Timestamp is not a number of milliseconds")?;
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    for directive in directives {
        if directive["Namespace"].as_str().is_none_or(str::is_empty) {
            return Err("a directive has no Namespace".into());
        }
        for set in directive["Dimensions"]
            .as_array()
            .ok_or("Dimensions is not an array")?
        {
            for key in set.as_array().ok_or("a dimension set is not an array")? {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                if !document[key].is_string() {
                    return Err(format!("dimension {key} is not a root string member"));
                }
            }
        }
        for metric in directive["Metrics"]
            .as_array()
            .ok_or("Metrics is not an array")?
        {
            let name = metric["Name"].as_str().ok_or("a metric has no Name")?;
            if !document[name].is_number() {
                return Err(format!("metric {name} is not a root number"));
            }
            if !matches!(metric["Unit"].as_str(), Some("Count" | "Milliseconds")) {
                return Err(format!("metric {name} has no known Unit"));
            }
        }
    }
    Ok(())
}

/// The production sink: one line per metric on stdout.
pub struct EmfStdout {
    function: String,
}

impl EmfStdout {
    pub fn new() -> Self {
        let function =
            std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned());
        Self { function }
    }
}

impl Default for EmfStdout {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsSink for EmfStdout {
    fn emit(&self, metric: &Metric) {
        let document = emf_document(metric, &self.function, SystemClock.now().as_millis());
        // A metric that cannot be written is not worth failing a verification for.
        let _ = writeln!(std::io::stdout().lock(), "{document}");
    }
}

/// For the local server, whose stdout is for people.
pub struct Discard;

impl MetricsSink for Discard {
    fn emit(&self, _: &Metric) {}
}

/// For tests: keeps every EMF document that would have been written.
#[derive(Default)]
pub struct Captured(Mutex<Vec<Value>>);

impl Captured {
    pub fn documents(&self) -> Vec<Value> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl MetricsSink for Captured {
    fn emit(&self, metric: &Metric) {
        let document = emf_document(metric, "test", SystemClock.now().as_millis());
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(document);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_well_formed(document: &Value) {
        if let Err(problem) = check_emf(document) {
            panic!("{problem}: {document}");
        }
    }

    #[test]
    fn every_metric_is_a_well_formed_emf_document() {
        for metric in catalogue() {
            assert_well_formed(&emf_document(&metric, "start-verify", 1_795_000_000_000));
        }
    }

    #[test]
    fn a_result_carries_its_outcome_origin_and_time_to_result() {
        let document = emf_document(
            &Metric::ResultRecorded {
                status: Status::Invalid,
                origin: Origin {
                    method: Method::Silent(SilentMethod::Smv),
                    country: None,
                },
                time_to_result: Duration::from_millis(2345),
            },
            "callback",
            7,
        );
        assert_eq!(document["Results"], 1);
        assert_eq!(
            (
                &document["Outcome"],
                &document["Method"],
                &document["Country"]
            ),
            (&json!("INVALID"), &json!("silent"), &json!("unknown"))
        );
        assert_eq!(document["TimeToResult"], 2345);
        // Conversion divides results by starts at each level: the deployment, a method, a country.
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([
                ["Outcome"],
                ["Outcome", "Method"],
                ["Outcome", "Method", "Country"]
            ])
        );
        assert_eq!(document["function"], "callback");
    }

    #[test]
    fn starts_are_counted_in_total_by_method_and_by_country() {
        let started = Metric::VerificationStarted(Origin {
            method: Method::Silent(SilentMethod::Smv),
            country: Some("BR".into()),
        });
        let document = emf_document(&started, "start-verify", 7);
        assert_eq!(document["Country"], "BR");
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[], ["Method"], ["Method", "Country"]])
        );
    }

    #[test]
    fn infobip_errors_are_counted_by_id() {
        let document = emf_document(&Metric::InfobipError { id: 305 }, "callback", 7);
        assert_eq!(
            (
                document["InfobipErrors"].as_u64(),
                document["ErrorId"].as_str()
            ),
            (Some(1), Some("305"))
        );
    }
}
