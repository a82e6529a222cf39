//! The table BENCHMARKS.md shows, with each figure's ratio to the floor, and the budgets.

use std::time::Duration;

use crate::measure::Figures;
use crate::{COLD_STARTS, REFERENCE};

const BUDGET_INIT_RATIO: f64 = 1.5;
const BUDGET_CPU_RATIO: f64 = 2.0;
const BUDGET_RSS_MB: f64 = 16.0;
const BUDGET_ZIPPED_MB: f64 = 3.0;

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".into()
    }
}

pub(crate) fn report(results: &[(&str, Figures)], warm: usize) {
    let floor = &results[0].1;
    println!("| function | init ms | first invocation ms | warm p50 ms | warm p99 ms | CPU µs / warm invocation | peak RSS MB | binary MB | zipped MB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, f) in results {
        println!(
            "| {name} | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {:.0} ({}) | {:.1} ({}) | {:.2} ({}) | {:.2} ({}) |",
            ms(f.init), ratio(f.init.as_secs_f64(), floor.init.as_secs_f64()),
            ms(f.first), ratio(f.first.as_secs_f64(), floor.first.as_secs_f64()),
            ms(f.p50), ratio(f.p50.as_secs_f64(), floor.p50.as_secs_f64()),
            ms(f.p99), ratio(f.p99.as_secs_f64(), floor.p99.as_secs_f64()),
            f.cpu_per_invocation.as_secs_f64() * 1e6, ratio(f.cpu_per_invocation.as_secs_f64(), floor.cpu_per_invocation.as_secs_f64()),
            f.peak_rss_kb as f64 / 1024.0, ratio(f.peak_rss_kb as f64, floor.peak_rss_kb as f64),
            mb(f.binary_bytes), ratio(f.binary_bytes as f64, floor.binary_bytes as f64),
            mb(f.zipped_bytes), ratio(f.zipped_bytes as f64, floor.zipped_bytes as f64),
        );
    }
    println!();
    println!("Ratios in parentheses are to the hello-world floor. Init and first invocation: median of {COLD_STARTS} cold starts; warm: {warm} invocations.");
    println!();
    println!("Budgets:");
    let mut all_pass = true;
    for (name, f) in results[1..].iter().filter(|(n, _)| *n != REFERENCE) {
        let checks = [
            (
                format!("init within {BUDGET_INIT_RATIO}x of hello-world"),
                f.init.as_secs_f64() <= BUDGET_INIT_RATIO * floor.init.as_secs_f64(),
            ),
            (
                format!("CPU per warm invocation within {BUDGET_CPU_RATIO}x of hello-world"),
                f.cpu_per_invocation.as_secs_f64()
                    <= BUDGET_CPU_RATIO * floor.cpu_per_invocation.as_secs_f64(),
            ),
            (
                format!("peak RSS at most {BUDGET_RSS_MB} MB"),
                (f.peak_rss_kb as f64 / 1024.0) <= BUDGET_RSS_MB,
            ),
            (
                format!("zipped bootstrap at most {BUDGET_ZIPPED_MB} MB"),
                mb(f.zipped_bytes) <= BUDGET_ZIPPED_MB,
            ),
        ];
        for (what, pass) in checks {
            all_pass &= pass;
            println!("  {} {name}: {what}", if pass { "PASS" } else { "FAIL" });
        }
    }
    println!();
    println!(
        "{}",
        if all_pass {
            "all budgets met"
        } else {
            "some budgets missed"
        }
    );
}
