//! The things this backend does, independent of HTTP so that the primary routes and the
//! demo-app routes share them: start ([`start`]), record a result ([`callback`]), and report it,
//! show a returning device its code, and redeem an assertion ([`results`]).

mod callback;
mod results;
mod start;

pub use callback::{receive_callback, CallbackOutcome};
pub use results::{device_return, redeem, report, Redeem, Report};
pub use start::{start, Started};

use crate::metrics::{Metric, MetricsSink};
use crate::telemetry;
use crate::verification::{State, Verification};

/// Metrics and the request log for a result that has just become final.
fn record_result(metrics: &dyn MetricsSink, completed: &Verification) {
    let Some(result) = completed.result() else {
        return;
    };
    let completed_at = match &completed.state {
        State::Completed { at, .. } => *at,
        State::Pending => return,
    };
    metrics.emit(&Metric::ResultRecorded {
        status: result.status(),
        time_to_result: completed_at.saturating_since(completed.created_at),
    });
    if let Some(error) = result.error() {
        metrics.emit(&Metric::InfobipError { id: error.id });
        telemetry::record_infobip_error(error.id);
    }
}
