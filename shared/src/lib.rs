//! Infobip Silent Mobile Verification backend: everything but the three Lambda `main`s.
//!
//! - [`infobip`]: Infobip's wire types, error codes and HTTP client.
//! - [`phone`], [`token`], [`verification`], [`time`]: the domain.
//! - [`store`]: the storage trait with DynamoDB and in-memory adapters.
//! - [`device_address`]: which IP and port a request honestly comes from.
//! - [`rate_limit`], [`idempotency`]: what keeps starts from costing more than they should.
//! - [`service`]: start, record a callback, report a result.
//! - [`http`]: routing, handlers, the problem+json mapping.
//! - [`config`], [`app`]: start-up.
//! - [`telemetry`], [`metrics`]: JSON logs, one event per request; metrics in CloudWatch EMF.

pub mod app;
pub mod config;
pub mod device_address;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod infobip;
pub mod metrics;
pub mod phone;
pub mod rate_limit;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod token;
pub mod verification;

pub use app::App;
pub use error::AppError;
pub use http::{handle, handle_as, Function};
