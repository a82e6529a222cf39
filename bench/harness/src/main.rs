//! The benchmark harness (`scripts/bench` builds and runs it). Each Lambda function's release
//! binary runs under a minimal emulator of the Lambda Runtime API on loopback
//! (`/2018-06-01/runtime/invocation/next`, `/response`, `/error`, `/init/error`), with DynamoDB
//! served by moto and Infobip faked on loopback. For each function it measures init time (process
//! start to the first `next`), first-invocation latency, warm latency p50/p99, CPU time per warm
//! invocation (the function's own process, every thread), peak RSS, binary and zipped size; and
//! the same for a hello-world lambda_http function, the floor every figure is a ratio to.
//!
//! Usage: smv-bench DYNAMODB_ENDPOINT BIN_DIR [WARM_INVOCATIONS [FUNCTION...]]
//! (naming functions measures only those and the floor, for profiling one of them)

mod measure;
mod report;
mod runtime_api;
mod subjects;

use std::path::PathBuf;

use measure::{cold_starts, measure_warm};
use report::report;
use subjects::Subject;

// Init times of a millisecond or two move with everything else on the machine: a median of many.
pub(crate) const COLD_STARTS: usize = 31;
/// Measured beside the floor, exempt from the budgets: what one DynamoDB call costs by itself.
pub(crate) const REFERENCE: &str = "plain GetItem (reference)";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (endpoint, bin_dir) = match (args.get(1), args.get(2)) {
        (Some(e), Some(b)) => (e.clone(), PathBuf::from(b)),
        _ => {
            eprintln!(
                "usage: smv-bench DYNAMODB_ENDPOINT BIN_DIR [WARM_INVOCATIONS [FUNCTION...]]"
            );
            std::process::exit(2);
        }
    };
    let warm: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let only: Vec<&str> = args.iter().skip(4).map(String::as_str).collect();

    let subjects = subjects::all(&endpoint, &bin_dir, warm).await;

    let selected: Vec<&Subject> = subjects
        .iter()
        .filter(|subject| {
            let floor = subject.binary.ends_with("bench-hello") || subject.name == REFERENCE;
            floor || only.is_empty() || only.contains(&subject.name)
        })
        .collect();
    eprintln!(
        "cold-starting {} functions in turns ({COLD_STARTS} starts each)...",
        selected.len()
    );
    let colds = cold_starts(&selected).await;
    let mut results = Vec::new();
    for (subject, (init, first)) in selected.iter().zip(colds) {
        eprintln!("measuring {} ({warm} warm invocations)...", subject.name);
        let mut figures = measure_warm(subject, warm).await;
        figures.init = init;
        figures.first = first;
        results.push((subject.name, figures));
    }
    report(&results, warm);
}
