//! Logs: JSON lines on stdout (CloudWatch keeps them), level from `RUST_LOG`, else
//! `AWS_LAMBDA_LOG_LEVEL` (set by Lambda from the function's logging configuration), else `info`.
//!
//! Each request runs inside a `request` span; handlers and the service record on it what they
//! learn (the token, the outcome, Infobip's error id), and `http::handle` writes one event per
//! request, which carries the span's fields.

use tracing::Span;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".to_owned())
        .to_ascii_lowercase();
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    // try_init: a second initialisation (tests) is harmless.
    let _ = json_subscriber(filter, std::io::stdout).try_init();
}

/// The subscriber `init` installs, writing to `writer`; tests use it to see the real format.
pub fn json_subscriber<W>(
    filter: EnvFilter,
    writer: W,
) -> tracing_subscriber::fmt::SubscriberBuilder<
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json, ()>,
    EnvFilter,
    W,
>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // CloudWatch timestamps every line
        .with_writer(writer)
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
