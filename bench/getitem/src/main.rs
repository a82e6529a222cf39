//! A plain lambda_http function that loads `aws-config` at init and does one strongly consistent
//! `GetItem` per invocation, and nothing else: no routing, no parsing, no logging. Built with the
//! product's release profile and HTTP client, it separates what one DynamoDB call through the AWS
//! SDK costs from what our own code adds on top of it (compare the `poll` row).

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(smv_shared::aws::http_client())
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let table = std::env::var("TABLE_NAME")?;
    lambda_http::run(service_fn(move |request: Request| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let key = request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let item = client
                .get_item()
                .table_name(table)
                .key("token", aws_sdk_dynamodb::types::AttributeValue::S(key))
                .consistent_read(true)
                .send()
                .await?;
            let found = if item.item.is_some() {
                "found"
            } else {
                "absent"
            };
            Ok::<_, Error>(Response::new(Body::Text(found.into())))
        }
    }))
    .await
}
