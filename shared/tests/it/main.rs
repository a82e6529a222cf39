//! Every integration test of `smv-shared`, in one binary: each test file used to link the AWS SDK
//! on its own (16 binaries, most of the test build's time and disk).

mod helpers;

// Features: what a user of each route sees, one file a feature.
mod assertions; // the device's code, the redeem, the signed assertion and its keys
mod callback; // Infobip's results: recorded once, forged ones refused, early ones parked
mod camara; // the CAMARA Number Verification client against a fake Infobip
mod camara_network; // network-based CAMARA: the start, the operator's return, the assertion
mod cross_site_starts; // starts a web page could send from its visitors' phones, refused
mod demo_app; // the routes Infobip's demo app calls, in the shape it reads
mod device_address; // which IP and port a start honestly comes from
mod dynamodb_flows; // whole verifications with state in DynamoDB, and its races
mod fallback; // a PIN by SMS or voice where silent verification produced no evidence
mod limits; // rate limits and Idempotency-Key, also on DynamoDB
mod oidc; // the OpenID Provider: discovery, sign-in, tokens, UserInfo, and every refusal
mod poll; // reporting results, EXPIRED by time
mod sim_based; // SIM-based CAMARA: the credential request, the SIM's answer, the assertion
mod sim_swap; // no assertion for a swapped SIM: checked at the redeem, said in the assertion
mod start; // starting a verification

// Properties: what must hold across every route.
mod events; // every file in events/ parses and is served by its function
mod faults; // DynamoDB throttling, 5xx and hangs: answered, nothing half-written
mod fuzz; // generated input through the handlers: no panic, problem+json
mod hostile_input; // oversized, binary, nested, mistyped requests refused before any call
mod layering; // the domain imports no HTTP, Infobip-client or AWS crate
mod monitoring; // the dashboard and the alarms watch metrics the code emits
mod observability; // metrics as CloudWatch EMF
mod privacy; // no key, secret or full number in the logs or the table
mod request_log; // one JSON log event per request
mod rotation; // every key rotated mid-flight: all verifications complete
mod store_contract; // both store adapters hold to the same contract
mod template; // template.yaml, openapi.yaml and the code held to each other
