//! The smallest useful lambda_http function, built with the product's release profile: what the
//! runtime itself costs, against which the benchmark harness measures our functions.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::Text("hello".into())))
    }))
    .await
}
