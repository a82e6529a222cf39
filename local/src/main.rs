//! `cargo run -p smv-local` serves the whole backend on 127.0.0.1:3000;
//! `cargo run -p smv-local -- demo [PHONE] [--api URL]` plays the mobile app against it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use smv_local::device::{self, DemoOptions};
use smv_local::load::LoadOptions;
use smv_local::server::{Concurrency, Server};
use smv_local::settings;
use smv_local::setup::SetupOptions;
use smv_local::test_numbers::{CAMARA_DEMO_NUMBER, CAMARA_NUMBERS, TEST_NUMBERS};
use smv_shared::config::{Env, Family};
use smv_shared::http::cors::Cors;
use smv_shared::method_policy::SilentMethod;
use tokio::net::TcpListener;
use url::Url;

const USAGE: &str = "\
usage: smv-local                      serve the backend (BIND_ADDR, PORT; see README)
       smv-local demo [PHONE] [--api URL] [--demo-app-routes | --assertion] [--fallback sms|voice]
                      [--method smv|camara|sim] [--timeout SECONDS]
                                      play the mobile app against a backend (default: the local one);
                                      --fallback asks for a PIN when silent verification fails and
                                      reads it from the simulator's inbox; --method fails unless the
                                      backend used that method (camara, sim: default PHONE
                                      +4915100000001; sim plays Android's Credential Manager)
       smv-local infobip-setup --brand BRAND [--name NAME] [--daily-budget N] [--per-number N] [--sender ID]
                                      create the 2FA application and message template the PIN
                                      fallback sends with (INFOBIP_BASE_URL, INFOBIP_ADMIN_API_KEY
                                      with 2fa:manage); prints TWOFA_APPLICATION_ID and TWOFA_MESSAGE_ID
       smv-local oidc-client --redirect-uri URL [--redirect-uri URL] [--id ID] [--scope SCOPES]
                      [--sector NAME] [--fallback] [--auth client_secret_basic|client_secret_post]
                                      print a new OpenID Provider client with a fresh secret, for
                                      OIDC_CLIENTS_FILE (and its hash, for a deployed registry)
       smv-local load [VERIFICATIONS] [--for SECONDS [--apps N]] [--api URL] [--timeout SECONDS]
                                      that many apps at once (default 600) against a local server
                                      using the simulator, or N apps (default 64) back to back for
                                      SECONDS beside an abuser and a broken client; exits 1 if any
                                      result is lost or any answer breaks its contract (scripts/load)";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve().await,
        Some(command @ ("demo" | "load")) => {
            // A demo waits for one verification, a load for hundreds at once.
            let timeout = Duration::from_secs(if command == "demo" { 60 } else { 300 });
            match client_args(&args[1..], timeout) {
                Ok(parsed) if command == "demo" => demo(parsed).await,
                Ok(parsed) => load(parsed).await,
                Err(problem) => usage_error(&problem),
            }
        }
        Some("infobip-setup") => infobip_setup(&args[1..]).await,
        Some("oidc-client") => match smv_local::oidc_client::new_client(&args[1..]) {
            Ok(made) => {
                println!("{:#}", made.local);
                eprintln!();
                eprintln!(
                    "Add the object above to the JSON array in OIDC_CLIENTS_FILE (smv-local)."
                );
                eprintln!("A deployment's registry (the OidcClientsSecretArn secret) holds the secret's hash:");
                eprintln!(
                    "  \"client_secret\": \"{}\"",
                    made.deployed["client_secret"].as_str().unwrap_or_default()
                );
                eprintln!("The secret is shown only now: give it to the relying party.");
                ExitCode::SUCCESS
            }
            Err(problem) => usage_error(&problem),
        },
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
    match Env(&env).flag(&settings::LOCAL_LAMBDA_LOGS) {
        Ok(true) => smv_shared::telemetry::init(),
        Ok(false) => tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_writer(std::io::stderr)
            .init(),
        Err(e) => {
            eprintln!("smv-local: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = async {
        let address = settings::bind_address(&env)?;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|e| settings::invalid("PORT", format!("cannot listen on {address}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| settings::invalid("BIND_ADDR", e.to_string()))?;
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
        cors: Cors::new(running.backend.start.config.allowed_origins.clone()),
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
    if running
        .backend
        .poll
        .config
        .families
        .contains(Family::WebPage)
    {
        println!("Open the verification page in a browser: {base}/web");
        println!();
    }
    if running.backend.poll.oidc.is_some() {
        println!("OpenID Provider (OIDC_CLIENTS_FILE): {base}/.well-known/openid-configuration");
        println!();
    }
    println!("Try a first verification (or run: cargo run -p smv-local -- demo):");
    println!("  curl -s -X POST {base}/verifications -H 'content-type: application/json' -d '{{\"phoneNumber\": \"+447911000001\"}}'");
    println!("  curl -s -L -c /tmp/smv-cookies -b /tmp/smv-cookies \"<deviceRedirectUrl from the answer>\"");
    println!("  curl -s {base}/verifications/<token>");
    if running.simulator.is_some() {
        println!();
        println!("Simulator test numbers (any other valid number verifies as VALID):");
        for row in TEST_NUMBERS {
            println!("  {:<16} {}", row.number, row.what);
        }
        println!();
        println!("CAMARA test numbers (Germany is CAMARA here: cargo run -p smv-local -- demo --method camara):");
        for row in CAMARA_NUMBERS {
            println!("  {:<16} {}", row.number, row.what);
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

async fn demo(parsed: ClientArgs<'_>) -> ExitCode {
    let mut options = DemoOptions {
        api: parsed.api,
        phone: "+447911000001".into(),
        demo_app_routes: false,
        timeout: parsed.timeout,
        assertion: false,
        fallback: None,
        method: None,
    };
    let mut phone_given = false;
    let mut args = parsed.rest.into_iter();
    while let Some(arg) = args.next() {
        match arg {
            "--demo-app-routes" => options.demo_app_routes = true,
            "--assertion" => options.assertion = true,
            "--fallback" => match args.next().and_then(smv_shared::fallback::Channel::parse) {
                Some(channel) => options.fallback = Some(channel),
                None => return usage_error("--fallback takes sms or voice"),
            },
            "--method" => match args.next() {
                Some("smv") => options.method = Some(SilentMethod::Smv),
                Some("camara") => options.method = Some(SilentMethod::Camara),
                Some("sim") => options.method = Some(SilentMethod::Sim),
                _ => return usage_error("--method takes smv, camara or sim"),
            },
            phone if !phone.starts_with("--") => {
                options.phone = phone.to_owned();
                phone_given = true;
            }
            other => return usage_error(&format!("unknown option {other}")),
        }
    }
    if matches!(
        options.method,
        Some(SilentMethod::Camara | SilentMethod::Sim)
    ) {
        if options.demo_app_routes {
            return usage_error(
                "the demo app's routes are SMV only: --method camara and sim use the API",
            );
        }
        if !phone_given {
            // The simulator's CAMARA country is Germany (VERIFY_METHODS=DE:camara,*:smv,
            // VERIFY_SIM_COUNTRIES=DE).
            options.phone = CAMARA_DEMO_NUMBER.into();
        }
    }
    println!(
        "smv-local demo: verifying {} against {}",
        options.phone, options.api
    );
    match device::run(&options, |line| println!("{line}")).await {
        Ok(outcome) => {
            println!(
                "result: {}{} (token {}, {} redirect hops, {} polls)",
                outcome.result,
                outcome
                    .method
                    .as_deref()
                    .map(|m| format!(" by {m}"))
                    .unwrap_or_default(),
                outcome.token,
                outcome.redirect_hops,
                outcome.polls
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

async fn infobip_setup(args: &[String]) -> ExitCode {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let base = env("INFOBIP_BASE_URL").unwrap_or_else(|| "https://api.infobip.com".into());
    let Ok(base_url) = Url::parse(&base) else {
        return usage_error("INFOBIP_BASE_URL is not a URL");
    };
    let Some(key) = env("INFOBIP_ADMIN_API_KEY").and_then(smv_shared::infobip::ApiKey::new) else {
        return usage_error(
            "set INFOBIP_ADMIN_API_KEY to an Infobip API key with the 2fa:manage scope",
        );
    };
    let mut options = SetupOptions {
        base_url,
        name: "SMV fallback".into(),
        brand: String::new(),
        daily_budget: 1000,
        per_number_per_day: 5,
        sender_id: None,
    };
    let mut args = args.iter().map(String::as_str);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg, value) {
            ("--name", Some(v)) => options.name = v.to_owned(),
            ("--brand", Some(v)) => options.brand = v.to_owned(),
            ("--sender", Some(v)) => options.sender_id = Some(v.to_owned()),
            ("--daily-budget", Some(v)) => match v.parse() {
                Ok(n) if n > 0 => options.daily_budget = n,
                _ => return usage_error("--daily-budget must be a positive number"),
            },
            ("--per-number", Some(v)) => match v.parse() {
                Ok(n) if n > 0 => options.per_number_per_day = n,
                _ => return usage_error("--per-number must be a positive number"),
            },
            (other, _) => return usage_error(&format!("unknown or incomplete option {other}")),
        }
    }
    if options.brand.trim().is_empty() {
        return usage_error("--brand is required: the name the PIN message gives (\"123456 is your BRAND verification code\")");
    }
    println!(
        "creating the 2FA application {:?} (5 attempts, 10 min, {} PINs a day, {} per number) at {}",
        options.name, options.daily_budget, options.per_number_per_day, options.base_url
    );
    match smv_local::setup::run(&options, &key).await {
        Ok(setup) => {
            println!("Configure the backend with (template parameters TwofaApplicationId, TwofaMessageId):");
            println!("TWOFA_APPLICATION_ID={}", setup.application_id);
            println!("TWOFA_MESSAGE_ID={}", setup.message_id);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("smv-local infobip-setup: {}", smv_shared::error::chain(&e));
            ExitCode::FAILURE
        }
    }
}

async fn load(parsed: ClientArgs<'_>) -> ExitCode {
    let mut options = LoadOptions {
        api: parsed.api,
        verifications: 600,
        sustained: None,
        timeout: parsed.timeout,
    };
    let (mut apps, mut length) = (64, None);
    let mut args = parsed.rest.into_iter();
    while let Some(arg) = args.next() {
        let mut number = |what: &str| match args.next().and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(format!("{what} needs a positive number")),
        };
        let parsed = match arg {
            "--for" => number("--for").map(|n| length = Some(Duration::from_secs(n as u64))),
            "--apps" => number("--apps").map(|n| apps = n.min(10_000)),
            n if !n.starts_with("--") => match n.parse() {
                Ok(n) if n > 0 => {
                    options.verifications = n;
                    Ok(())
                }
                _ => Err("VERIFICATIONS must be a positive number".into()),
            },
            other => Err(format!("unknown option {other}")),
        };
        if let Err(problem) = parsed {
            return usage_error(&problem);
        }
    }
    options.sustained = length.map(|length| (apps, length));
    match options.sustained {
        Some((apps, length)) => println!(
            "smv-local load: {apps} apps for {} s, beside an abuser and a broken client, against {}",
            length.as_secs(),
            options.api
        ),
        None => println!(
            "smv-local load: {} concurrent verifications against {}",
            options.verifications, options.api
        ),
    }
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
