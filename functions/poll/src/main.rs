//! Reports results (`GET /verifications/{token}`, the demo app's `GET /verify/result/{token}`),
//! shows a returning device its code, redeems assertions, publishes their keys and serves the
//! verification page.
//! The routes are this function's table in `smv_shared::http::routes`.

use smv_shared::{run_lambda, telemetry, PollApp};

// One invocation at a time per execution environment: a single-threaded runtime is enough, and
// spawns no worker threads at init.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    run_lambda(PollApp::from_env()?).await
}
