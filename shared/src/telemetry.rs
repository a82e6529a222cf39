//! Logs: JSON lines on stdout (CloudWatch keeps them), level from `RUST_LOG`, else
//! `AWS_LAMBDA_LOG_LEVEL` (set by Lambda from the function's logging configuration), else `info`.
//!
//! Each request runs inside a `request` span; handlers and the service record on it what they
//! learn (the token, the outcome, Infobip's error id), and `http::handle` writes one event per
//! request, which carries the span's fields.

use tracing::{Span, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// The Lambda runtime logs every raw event at TRACE (callback secrets, phone numbers, device
/// codes): its crates never log below DEBUG, whatever level is set.
const RUNTIME_CRATES: &[&str] = &["lambda_runtime", "lambda_runtime_api_client", "lambda_http"];

pub fn init() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_default();
    // A second initialisation (tests) is harmless.
    let _ = tracing::subscriber::set_global_default(json_subscriber(
        level_filter(&level),
        std::io::stdout,
    ));
}

/// A level, not `EnvFilter`'s per-module directives: the directive parser brings a regex engine
/// into every binary (about 0.4 MB zipped) for a setting that here only ever names a level.
/// Lambda's `FATAL` is `error`; anything unreadable is `info`.
pub fn level_filter(raw: &str) -> LevelFilter {
    match raw.trim().to_ascii_lowercase().as_str() {
        "fatal" => LevelFilter::ERROR,
        // tracing reads "" as ERROR; unset means the default here.
        "" => LevelFilter::INFO,
        other => other.parse().unwrap_or(LevelFilter::INFO),
    }
}

/// The subscriber `init` installs, writing to `writer`; tests use it to see the real format.
pub fn json_subscriber<W>(filter: LevelFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let runtime_cap = filter.min(LevelFilter::DEBUG);
    let targets = RUNTIME_CRATES
        .iter()
        .fold(Targets::new().with_default(filter), |targets, krate| {
            targets.with_target(*krate, runtime_cap)
        });
    tracing_subscriber::fmt()
        .json()
        .with_max_level(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // CloudWatch timestamps every line
        .with_writer(writer)
        .finish()
        .with(targets)
}

pub fn record_token(token: &crate::token::Token) {
    Span::current().record("token", token.as_str());
}

pub fn record_outcome(outcome: &str) {
    Span::current().record("outcome", outcome);
}

pub fn record_infobip_error(id: i32) {
    Span::current().record("infobip_error_id", id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_rust_log_and_lambda_are_read() {
        for (raw, level) in [
            ("warn", LevelFilter::WARN),
            ("DEBUG", LevelFilter::DEBUG),
            (" error ", LevelFilter::ERROR),
            ("FATAL", LevelFilter::ERROR),
            ("", LevelFilter::INFO),
            ("smv_shared=debug", LevelFilter::INFO),
        ] {
            assert_eq!(level_filter(raw), level, "{raw:?}");
        }
    }
}
