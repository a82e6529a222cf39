//! Infobip Silent Mobile Verification backend: everything but the three Lambda `main`s.
//!
//! - [`phone`], [`phone_hash`], [`server_key`], [`token`], [`verification`], [`device`], [`time`]: the domain.
//! - [`callback_secret`]: tells a callback URL we issued from a forged one, without storage.
//! - [`keys`]: our secret keys as they rotate (`AWSCURRENT` and `AWSPREVIOUS`), read at run time.
//! - [`binding`], [`device_return`], [`assertion`]: what makes a result trustworthy: the starter's
//!   PKCE challenge and nonce, the device's code from the return URL, the signed assertion.
//! - [`camara_outcome`]: what each CAMARA answer records (its errors numbered from 9000).
//! - [`sim_swap`]: no assertion and no PIN without a recent answer that the SIM was not swapped.
//! - [`fallback`]: when a PIN by SMS or voice may stand in for silent verification, and the PIN
//!   state machine.
//! - [`method_policy`]: which Infobip method (SMV, CAMARA) verifies a number, by its country.
//! - [`sealed_phone`]: the number a CAMARA verification names to Infobip after its start, sealed.
//! - [`rate_limit`], [`idempotency`]: what keeps starts from costing more than they should.
//! - [`service`]: start, record a callback, report a result, over the ports below.
//! - [`store`]: the storage ports, with DynamoDB and in-memory adapters.
//! - [`infobip`]: the Infobip ports, their HTTP transport and the SMV, 2FA and SIM-swap clients
//!   (wire types inside).
//! - [`secrets_manager`]: our rotating keys read from AWS Secrets Manager.
//! - [`device_address`]: which IP and port a request honestly comes from.
//! - [`http`]: the route table, handlers, the front end's refusals, the one error table
//!   (problem+json), API Gateway events.
//! - [`config`], [`app`], [`startup`]: settings declared once, each function's context (ports
//!   and its config), and building it.
//! - [`telemetry`], [`metrics`]: JSON logs, one event per request; metrics in CloudWatch EMF.
//! - [`urls_and_headers`]: URL joining and `Retry-After`, for both sides of HTTP.

pub mod app;
pub mod assertion;
pub mod aws;
pub mod binding;
pub mod callback_secret;
pub mod camara_outcome;
pub mod config;
pub mod device;
pub mod device_address;
pub mod device_return;
pub mod error;
pub mod fallback;
pub mod http;
pub mod idempotency;
pub mod infobip;
pub mod keys;
pub mod method_policy;
pub mod metrics;
pub mod oidc;
pub mod phone;
pub mod phone_hash;
pub mod rate_limit;
pub mod sealed_phone;
pub mod secrets_manager;
pub mod server_key;
pub mod service;
pub mod sim_credential;
pub mod sim_swap;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod token;
pub mod urls_and_headers;
pub mod verification;

pub use app::{Backend, CallbackApp, PollApp, StartApp};
pub use error::AppError;
pub use http::{handle, handle_any, handle_by, run_lambda, Function};
