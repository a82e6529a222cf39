//! Every integration test of `smv-shared`, in one binary: each test file used to link the AWS SDK
//! on its own (16 binaries, most of the test build's time and disk).

mod dynamodb_faults;
mod helpers;

mod assertions;
mod callback;
mod demo_app;
mod device_address;
mod drive_by;
mod dynamodb_flows;
mod events;
mod fallback;
mod faults;
mod fuzz;
mod hostile_input;
mod limits;
mod observability;
mod poll;
mod privacy;
mod request_log;
mod start;
mod store_contract;
mod template;
