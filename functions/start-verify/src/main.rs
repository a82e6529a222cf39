//! Starts verifications: `POST /verifications`, `GET /verify/{msisdn}` and `GET /device-address`.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};
use smv_shared::http::StartVerifyRoutes;
use smv_shared::{handle_as, telemetry, App};

// One invocation at a time per execution environment: a single-threaded runtime is enough, and
// spawns no worker threads at init.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let app = Arc::new(App::from_env_with_infobip()?);
    lambda_http::run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(handle_as::<StartVerifyRoutes>(&app, request).await) }
    }))
    .await
}
