//! Running a subject and measuring it: init, first invocation, warm latency, CPU time, peak RSS,
//! binary and zipped size.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::runtime_api::{runtime_api, serve, Invocation, RuntimeApi};
use crate::subjects::Subject;
use crate::COLD_STARTS;

#[derive(Default, Clone)]
pub(crate) struct Figures {
    pub(crate) init: Duration,
    pub(crate) first: Duration,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) cpu_per_invocation: Duration,
    pub(crate) peak_rss_kb: u64,
    pub(crate) binary_bytes: u64,
    pub(crate) zipped_bytes: u64,
}

pub(crate) fn cpu_time(pid: u32) -> Duration {
    // schedstat's first field: nanoseconds on CPU, per thread; summed over the process's threads.
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
                total += stat
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(total)
}

pub(crate) fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) fn zipped_size(binary: &Path) -> u64 {
    let bytes = std::fs::read(binary).unwrap();
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&bytes).unwrap();
    // A zip adds ~100 bytes of headers around the deflated file.
    encoder.finish().unwrap().len() as u64 + 100
}

/// One process lifetime: returns init, first-invocation latency and, when `warm` > 0, the rest.
pub(crate) async fn run_once(subject: &Subject, warm: usize, offset: usize) -> Figures {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (submit, invocations) = mpsc::channel(1);
    let (first_tx, first_rx) = oneshot::channel();
    let api = Arc::new(RuntimeApi {
        invocations: Mutex::new(invocations),
        waiting: Mutex::new(HashMap::new()),
        first_next: Mutex::new(Some(first_tx)),
    });
    let server = tokio::spawn(serve(listener, move |r| runtime_api(Arc::clone(&api), r)));

    let spawned = Instant::now();
    let mut child = tokio::process::Command::new(&subject.binary)
        .envs(subject.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", subject.binary.display()));
    let pid = child.id().unwrap();
    let first_next = tokio::time::timeout(Duration::from_secs(30), first_rx)
        .await
        .expect("init finished")
        .unwrap();
    let mut figures = Figures {
        init: first_next - spawned,
        ..Figures::default()
    };

    let invoke = |i: usize| {
        let submit = submit.clone();
        let event = (subject.event)(i);
        async move {
            let (answer, answered) = oneshot::channel();
            let sent = Instant::now();
            submit
                .send(Invocation {
                    id: uuid::Uuid::new_v4().to_string(),
                    event,
                    answer,
                })
                .await
                .unwrap();
            let body = answered
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("invocation failed: {e}"));
            (sent.elapsed(), body)
        }
    };
    let check = |body: &str| {
        let status = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["statusCode"].as_u64());
        assert_eq!(
            status,
            Some(u64::from(subject.expected_status)),
            "{}: {body}",
            subject.name
        );
    };

    let (first, body) = invoke(offset).await;
    check(&body);
    figures.first = first;
    if warm > 0 {
        let cpu_before = cpu_time(pid);
        let mut latencies = Vec::with_capacity(warm);
        for i in 1..=warm {
            let (latency, body) = invoke(offset + i).await;
            check(&body);
            latencies.push(latency);
        }
        figures.cpu_per_invocation = (cpu_time(pid) - cpu_before) / warm as u32;
        latencies.sort();
        figures.p50 = latencies[warm / 2];
        figures.p99 = latencies[(warm * 99).div_ceil(100) - 1];
        figures.peak_rss_kb = peak_rss_kb(pid);
    }
    let _ = child.kill().await;
    server.abort();
    figures
}

/// Init and first-invocation latency of every subject, cold-started in turns: the r-th start of
/// each runs beside the r-th start of the floor, so a slow spell of the machine weighs on both and
/// the ratios stay fair (measured one subject after the other, the floor's init moved by a third
/// between runs). Returns, per subject, the median init and first-invocation latency.
pub(crate) async fn cold_starts(subjects: &[&Subject]) -> Vec<(Duration, Duration)> {
    let mut samples = vec![(Vec::new(), Vec::new()); subjects.len()];
    for run in 0..COLD_STARTS {
        for (subject, (inits, firsts)) in subjects.iter().zip(&mut samples) {
            // Run r's first invocation uses verification r.
            let figures = run_once(subject, 0, run).await;
            inits.push(figures.init);
            firsts.push(figures.first);
        }
    }
    samples
        .into_iter()
        .map(|(mut inits, mut firsts)| {
            inits.sort();
            firsts.sort();
            (inits[COLD_STARTS / 2], firsts[COLD_STARTS / 2])
        })
        .collect()
}

/// The warm figures of one subject (its init and first invocation come from `cold_starts`).
pub(crate) async fn measure_warm(subject: &Subject, warm: usize) -> Figures {
    // Verifications 0..COLD_STARTS went to the cold starts; this run takes the ones after.
    let mut figures = run_once(subject, warm, COLD_STARTS).await;
    figures.binary_bytes = std::fs::metadata(&subject.binary).unwrap().len();
    figures.zipped_bytes = zipped_size(&subject.binary);
    figures
}
