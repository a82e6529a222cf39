//! `cargo run -p smv-local` serves the whole backend on 127.0.0.1:3000;
//! `cargo run -p smv-local -- demo [PHONE] [--api URL]` plays the mobile app against it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use smv_local::device::{self, DemoOptions};
use smv_local::load::LoadOptions;
use smv_local::server::{Concurrency, Server};
use smv_local::settings;
use smv_local::simulator::TEST_NUMBERS;
use smv_shared::http::cors::Cors;
use tokio::net::TcpListener;
use url::Url;

const USAGE: &str = "\
usage: smv-local                      serve the backend (BIND_ADDR, PORT; see README)
       smv-local demo [PHONE] [--api URL] [--demo-app-routes | --assertion] [--timeout SECONDS]
                                      play the mobile app against a backend (default: the local one)
       smv-local load [VERIFICATIONS] [--api URL] [--timeout SECONDS]
                                      that many apps at once (default 600) against a local server
                                      using the simulator; exits 1 if any result is lost (scripts/load)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve().await,
        Some("demo") => demo(&args[1..]).await,
        Some("load") => load(&args[1..]).await,
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

async fn serve() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = async {
        let address = settings::bind_address(&env)?;
        let listener =
            TcpListener::bind(address)
                .await
                .map_err(|e| settings::SettingsError::Invalid {
                    name: "PORT",
                    problem: format!("cannot listen on {address}: {e}"),
                })?;
        let local = listener
            .local_addr()
            .map_err(|e| settings::SettingsError::Invalid {
                name: "BIND_ADDR",
                problem: e.to_string(),
            })?;
        let base_url =
            Url::parse(&format!("http://{local}")).expect("a socket address makes a URL");
        let running = settings::build(env, &base_url).await?;
        print_banner(&base_url, &running);
        Ok::<_, settings::SettingsError>((listener, running))
    }
    .await;
    let (listener, running) = match result {
        Ok(ready) => ready,
        Err(e) => {
            eprintln!("smv-local: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = Arc::new(Server {
        cors: Cors::new(running.backend.start.allowed_origins.clone()),
        backend: running.backend,
        simulator: running.simulator,
        concurrency: match running.concurrency {
            Some(limit) => Concurrency::per_function(limit),
            None => Concurrency::unlimited(),
        },
    });
    tokio::select! {
        result = server.serve(listener) => {
            if let Err(e) = result {
                eprintln!("smv-local: {e}");
                return ExitCode::FAILURE;
            }
        }
        _ = tokio::signal::ctrl_c() => eprintln!("smv-local: stopped"),
    }
    ExitCode::SUCCESS
}

fn print_banner(base_url: &Url, running: &settings::Running) {
    let base = base_url.as_str().trim_end_matches('/');
    println!("smv-local listening on {base}");
    println!("  store:   {}", running.store_description);
    println!("  infobip: {}", running.infobip_description);
    println!("  assertions: signed with {}", running.signer_description);
    println!();
    if running.backend.poll.web_page {
        println!("Open the verification page in a browser: {base}/web");
        println!();
    }
    println!("Try a first verification (or run: cargo run -p smv-local -- demo):");
    println!("  curl -s -X POST {base}/verifications -H 'content-type: application/json' -d '{{\"phoneNumber\": \"+447911000001\"}}'");
    println!("  curl -s -L -c /tmp/smv-cookies -b /tmp/smv-cookies \"<deviceRedirectUrl from the answer>\"");
    println!("  curl -s {base}/verifications/<token>");
    if running.simulator.is_some() {
        println!();
        println!("Simulator test numbers (any other valid number verifies as VALID):");
        for (number, _, what) in TEST_NUMBERS {
            println!("  {number:<16} {what}");
        }
    }
}

/// What `demo` and `load` share: the backend (`--api URL`, default the local server on `PORT`,
/// read the way `serve` reads it so a malformed PORT is named instead of panicking) and
/// `--timeout SECONDS`. The other arguments are returned for the command to read.
struct ClientArgs<'a> {
    api: Url,
    timeout: Duration,
    rest: Vec<&'a str>,
}

fn client_args(args: &[String], default_timeout: Duration) -> Result<ClientArgs<'_>, String> {
    let port = settings::bind_address(&env)
        .map_err(|e| e.to_string())?
        .port();
    let mut parsed = ClientArgs {
        api: Url::parse(&format!("http://127.0.0.1:{port}"))
            .expect("a loopback URL with a port parses"),
        timeout: default_timeout,
        rest: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--api" => match args.next().map(|a| Url::parse(a)) {
                Some(Ok(url)) => parsed.api = url,
                _ => return Err("--api needs an absolute URL".into()),
            },
            "--timeout" => match args.next().and_then(|a| a.parse().ok()) {
                Some(seconds) => parsed.timeout = Duration::from_secs(seconds),
                None => return Err("--timeout needs a number of seconds".into()),
            },
            other => parsed.rest.push(other),
        }
    }
    Ok(parsed)
}

async fn demo(args: &[String]) -> ExitCode {
    let parsed = match client_args(args, Duration::from_secs(60)) {
        Ok(parsed) => parsed,
        Err(problem) => return usage_error(&problem),
    };
    let mut options = DemoOptions {
        api: parsed.api,
        phone: "+447911000001".into(),
        demo_app_routes: false,
        timeout: parsed.timeout,
        assertion: false,
    };
    for arg in parsed.rest {
        match arg {
            "--demo-app-routes" => options.demo_app_routes = true,
            "--assertion" => options.assertion = true,
            phone if !phone.starts_with("--") => options.phone = phone.to_owned(),
            other => return usage_error(&format!("unknown option {other}")),
        }
    }
    println!(
        "smv-local demo: verifying {} against {}",
        options.phone, options.api
    );
    match device::run(&options, |line| println!("{line}")).await {
        Ok(outcome) => {
            println!(
                "result: {} (token {}, {} redirect hops, {} polls)",
                outcome.result, outcome.token, outcome.redirect_hops, outcome.polls
            );
            if let Some(claims) = &outcome.claims {
                println!("assertion claims: {claims:#}");
            } else if options.assertion && outcome.result == "VALID" {
                println!("failed: no assertion");
                return ExitCode::FAILURE;
            }
            if outcome.result == "VALID" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!("failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn load(args: &[String]) -> ExitCode {
    let parsed = match client_args(args, Duration::from_secs(300)) {
        Ok(parsed) => parsed,
        Err(problem) => return usage_error(&problem),
    };
    let mut options = LoadOptions {
        api: parsed.api,
        verifications: 600,
        timeout: parsed.timeout,
    };
    for arg in parsed.rest {
        match arg {
            n if !n.starts_with("--") => match n.parse() {
                Ok(n) if n > 0 => options.verifications = n,
                _ => return usage_error("VERIFICATIONS must be a positive number"),
            },
            other => return usage_error(&format!("unknown option {other}")),
        }
    }
    println!(
        "smv-local load: {} concurrent verifications against {}",
        options.verifications, options.api
    );
    let report = smv_local::load::run(&options).await;
    report.print();
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage_error(problem: &str) -> ExitCode {
    eprintln!("smv-local: {problem}\n{USAGE}");
    ExitCode::from(2)
}
