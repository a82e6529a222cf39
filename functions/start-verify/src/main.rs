//! Starts verifications (`POST /verifications`, and the demo app's `GET /verify/{msisdn}` and
//! `GET /device-address`) and sends and checks fallback PINs (`POST /verifications/{token}/fallback`,
//! `/pin`).
//! The routes are this function's table in `smv_shared::http::routes`.

use smv_shared::{run_lambda, telemetry, StartApp};

// One invocation at a time per execution environment: a single-threaded runtime is enough, and
// spawns no worker threads at init.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    run_lambda(StartApp::from_env()?).await
}
