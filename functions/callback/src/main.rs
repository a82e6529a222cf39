//! Receives Infobip's results: `POST /callbacks/infobip/{secret}`.
//! The routes are this function's table in `smv_shared::http::routes`.

use smv_shared::{run_lambda, telemetry, CallbackApp};

// One invocation at a time per execution environment: a single-threaded runtime is enough, and
// spawns no worker threads at init.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    run_lambda(CallbackApp::from_env()?).await
}
