//! What each function's handlers receive: its ports and the settings it reads, exactly, so that a
//! poll handler cannot reach Infobip and the callback function holds neither the Infobip key nor
//! the phone hash key. Which adapters fill the ports is `startup`'s business; the settings are
//! `config`'s structs, held whole. Built once per process; the Lambda functions, the local
//! server and the tests share them.

use std::sync::Arc;

use crate::assertion::Signer;
use crate::config::{CallbackConfig, PollConfig, StartConfig};
use crate::infobip::{PinService, SilentVerifier, SimSwapChecker};
use crate::metrics::MetricsSink;
use crate::store::{
    Counters, DeviceReturns, IdempotencyRecords, ParkedCallbacks, Store, Verifications,
};
use crate::time::Clock;

/// The start-verify function: starts verifications, tells a device its address, and sends and
/// checks fallback PINs.
#[derive(Clone)]
pub struct StartApp {
    pub verifications: Arc<dyn Verifications>,
    pub parked: Arc<dyn ParkedCallbacks>,
    pub counters: Arc<dyn Counters>,
    pub idempotency: Arc<dyn IdempotencyRecords>,
    pub infobip: Arc<dyn SilentVerifier>,
    /// Infobip 2FA; `None` while fallback is off (no 2FA application configured).
    pub pins: Option<Arc<dyn PinService>>,
    pub sim_swaps: Arc<dyn SimSwapChecker>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub config: Arc<StartConfig>,
}

/// The callback function: records the results Infobip sends.
#[derive(Clone)]
pub struct CallbackApp {
    pub verifications: Arc<dyn Verifications>,
    /// A result for a callback URL we issued is kept when its verification is not stored yet.
    pub parked: Arc<dyn ParkedCallbacks>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub config: Arc<CallbackConfig>,
}

/// The poll function: reports results, shows a returning device its code, and redeems VALID
/// verifications for signed assertions.
#[derive(Clone)]
pub struct PollApp {
    pub verifications: Arc<dyn Verifications>,
    /// A result the start could not pick up is applied by the next poll.
    pub parked: Arc<dyn ParkedCallbacks>,
    pub returns: Arc<dyn DeviceReturns>,
    /// Asked before an assertion is signed: the only Infobip call the poll function makes.
    pub sim_swaps: Arc<dyn SimSwapChecker>,
    pub signer: Arc<dyn Signer>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub config: Arc<PollConfig>,
}

/// The process-wide adapters every context shares: the store, the clock, the metrics sink.
#[derive(Clone)]
pub struct Adapters {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
}

/// All three functions in one process, as the local server and the tests run them.
#[derive(Clone)]
pub struct Backend {
    pub start: StartApp,
    pub callback: CallbackApp,
    pub poll: PollApp,
}
