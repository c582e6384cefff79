//! `niji serve`, `niji demo` and `niji account`: the query API and its accounts.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use niji_enclave::{AuditLog, SystemClock};
use niji_query_api::auth::Role;
use niji_query_api::{AppState, ProvisionDefaults, ServeOptions};

use crate::cli::{Cli, GlobalArgs};
use crate::config::Config;

pub(crate) const SERVE_ABOUT: &str = "Serve the query API: accounts and tokens, applications and \
their review, project catalogs, and disclosure-controlled queries over the analysis lake.

Metadata (accounts, applications, reviews, projects, saved results) live in SQLite by default \
(<data_dir>/steward/niji.db, created on first start) or in PostgreSQL given by --database or \
NIJI_DATABASE_URL (postgres://user@host/db). The lake is <data_dir>/lake, project keys live in \
<data_dir>/steward/projects and every query and review decision is appended to the audit log \
<data_dir>/steward/audit.jsonl (see `niji audit verify`).

With --tls-cert and --tls-key (PEM) it serves HTTPS on any address. Without TLS it listens on \
loopback only; to listen on another address without TLS, terminate TLS in a proxy in front of it \
and pass --allow-remote-plaintext.

Create the first administrator with `niji account add admin --role admin`.

The API is described at /openapi.json.";

pub(crate) const DEMO_ABOUT: &str = "Run the whole platform on embedded defaults: synthesize a \
small population in the real source formats, initialise the link keys, ingest every source, link \
persons, create demo accounts and an approved demo project, then serve the API on localhost and \
print the URL, a researcher's token and a ready curl query.

Everything goes into one folder (default ./niji-demo), which is reused by the next run if it \
already holds a lake: delete it to start afresh. Nothing leaves the machine.";

/// `niji serve` options.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8400", env = "NIJI_LISTEN")]
    listen: SocketAddr,
    /// Metadata database URL [default: sqlite://<data_dir>/steward/niji.db].
    #[arg(
        long,
        env = "NIJI_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    database: Option<String>,
    /// Listen on a non-loopback address without TLS (only behind a TLS-terminating proxy).
    #[arg(long)]
    allow_remote_plaintext: bool,
    /// PEM certificate chain: serve HTTPS (with --tls-key), on any address.
    #[arg(long, env = "NIJI_TLS_CERT", value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "NIJI_TLS_KEY", value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Reviewer votes that decide an application.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=20))]
    quorum: u32,
    /// Requests a minute per token.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    rate_limit: u32,
    /// Seconds a query is waited for before it becomes a job the client polls (0: always a job).
    #[arg(long, default_value_t = 20)]
    sync_seconds: u64,
}

/// `niji demo` options.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Folder for the demo's data (extracts, zones, metadata).
    #[arg(long, default_value = "niji-demo", value_name = "DIR")]
    dir: PathBuf,
    /// Synthetic persons.
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    persons: u64,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8400")]
    listen: SocketAddr,
    /// Prepare everything and print the query, but do not serve (for scripts and tests).
    #[arg(long)]
    no_serve: bool,
}

/// `niji account` options.
#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    #[command(subcommand)]
    action: AccountAction,
    /// Metadata database URL [default: sqlite://<data_dir>/steward/niji.db].
    #[arg(
        long,
        env = "NIJI_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        global = true
    )]
    database: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AccountAction {
    /// Add an account. The password is read from NIJI_PASSWORD or the first line of standard
    /// input (never an argument); reviewers and admins get a TOTP secret, printed once.
    Add {
        /// User name.
        username: String,
        /// researcher, reviewer, steward or admin.
        #[arg(long)]
        role: String,
    },
}

fn database_url(arg: Option<String>, config: &Config) -> anyhow::Result<String> {
    if let Some(url) = arg {
        return Ok(url);
    }
    let steward = config.data_dir.join("steward");
    std::fs::create_dir_all(&steward)
        .with_context(|| format!("cannot create {}", steward.display()))?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        steward.join("niji.db").display()
    ))
}

async fn state(
    config: &Config,
    database: &str,
    quorum: u32,
    rate_limit: u32,
    sync_query_seconds: u64,
) -> anyhow::Result<AppState> {
    let db = niji_query_api::db::connect(database)
        .await
        .context("cannot open the metadata database")?;
    let steward_dir = config.data_dir.join("steward");
    std::fs::create_dir_all(&steward_dir)?;
    let lake = niji_lake::ZoneRoot::parse(&config.data_dir.join("lake").display().to_string())
        .context("invalid lake location")?
        .with_storage_options(config.storage.clone());
    let audit = AuditLog::open(crate::audit::default_log(config), Box::new(SystemClock))
        .context("cannot open the audit log")?;
    Ok(AppState::new(
        db,
        lake,
        steward_dir,
        audit,
        Arc::new(SystemClock),
        rate_limit,
        ProvisionDefaults {
            quorum: quorum as usize,
            sync_query_seconds,
            ..ProvisionDefaults::default()
        },
    ))
}

/// Runs `niji serve`.
pub(crate) fn serve(args: ServeArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let url = database_url(args.database, config)?;
    let rt = crate::runtime()?;
    rt.block_on(async {
        let state = state(config, &url, args.quorum, args.rate_limit, args.sync_seconds).await?;
        let options = ServeOptions {
            addr: args.listen,
            allow_remote_plaintext: args.allow_remote_plaintext,
            tls: args.tls_cert.zip(args.tls_key),
        };
        let bound = niji_query_api::bind(&options).await?;
        let (scheme, addr) = (bound.scheme(), bound.addr);
        eprintln!("niji API listening on {scheme}://{addr}  (OpenAPI: {scheme}://{addr}/openapi.json; Ctrl-C stops)");
        niji_query_api::serve(bound, state).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `niji account`.
pub(crate) fn account(args: AccountArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let url = database_url(args.database, config)?;
    match args.action {
        AccountAction::Add { username, role } => {
            let role = Role::parse(&role)?;
            let password = match std::env::var("NIJI_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("password for {username} (one line on standard input):");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let rt = crate::runtime()?;
            let totp = rt.block_on(async {
                let db = niji_query_api::db::connect(&url).await?;
                let now = chrono::Utc::now().timestamp();
                let (_, totp) =
                    niji_query_api::create_account(&db, &username, &password, role, now).await?;
                anyhow::Ok(totp)
            })?;
            println!("account {username} ({}) created", role.as_str());
            if let Some(secret) = totp {
                println!(
                    "TOTP secret (add it to an authenticator app now; it is not shown again): {secret}"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The lake tables the demo project is approved for.
const DEMO_TABLES: &[&str] = &[
    "receipts",
    "diagnoses",
    "drugs",
    "procedures",
    "checkups",
    "observations",
    "care_claims",
    "care_services",
    "ehr_bundles",
    "allergies",
];

fn step(global: &GlobalArgs, data_dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let mut argv = vec!["niji".to_string()];
    if global.quiet {
        argv.push("--quiet".into());
    }
    argv.push("--data-dir".into());
    argv.push(data_dir.display().to_string());
    argv.extend(args.iter().map(|s| s.to_string()));
    eprintln!("\n== niji {}", args.join(" "));
    let cli = Cli::try_parse_from(&argv).context("demo step arguments")?;
    let code = crate::cli::run(cli)?;
    if code != ExitCode::SUCCESS {
        anyhow::bail!("demo step `niji {}` failed", args.join(" "));
    }
    Ok(())
}

/// Runs `niji demo`.
pub(crate) fn demo(args: DemoArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let dir = args.dir;
    let data_dir = dir.join("data");
    let extracts = dir.join("extracts");
    let fresh = !data_dir.join("lake").exists();
    if fresh {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let persons = args.persons.to_string();
        let out = extracts.display().to_string();
        step(
            global,
            &data_dir,
            &[
                "synth",
                "--persons",
                &persons,
                "--years",
                "1",
                "--out",
                &out,
            ],
        )?;
        if !data_dir.join("steward").join("keys.json").exists() {
            step(global, &data_dir, &["keys", "init"])?;
        }
        step(global, &data_dir, &["ingest", &out])?;
        let truth = extracts.join("truth").display().to_string();
        step(global, &data_dir, &["link", "--evaluate", &truth])?;
    } else {
        eprintln!("reusing the demo data in {}", dir.display());
    }
    let config = Config::load(&GlobalArgs {
        config: None,
        data_dir: Some(data_dir.clone()),
        verbose: global.verbose,
        quiet: global.quiet,
    })?;
    let db_path = data_dir.join("steward").join("demo.db");
    let _ = std::fs::remove_file(&db_path);
    let url = format!("sqlite://{}?mode=rwc", db_path.display());
    let rt = crate::runtime()?;
    rt.block_on(async {
        let state = state(&config, &url, 2, 600, 20).await?;
        let password = demo_password()?;
        let seed = niji_query_api::seed_demo(&state, DEMO_TABLES, &password)
            .await
            .context("cannot set up the demo project")?;
        let options = ServeOptions {
            addr: args.listen,
            allow_remote_plaintext: false,
            tls: None,
        };
        let bound = niji_query_api::bind(&options).await?;
        let addr = bound.addr;
        let sql = "SELECT sex, count(DISTINCT pid) AS persons, avg(points) AS mean_points FROM receipts GROUP BY sex ORDER BY sex";
        println!();
        println!("niji demo ready in {:.0} s", started.elapsed().as_secs_f64());
        println!("  API:       http://{addr}   (OpenAPI: http://{addr}/openapi.json)");
        println!("  project:   {}", seed.project);
        println!("  token:     {}   (researcher)", seed.token);
        println!(
            "  accounts:  {} (password {}; reviewers and admin also need their TOTP)",
            seed.accounts
                .iter()
                .map(|(n, r, _)| format!("{n}/{r}"))
                .collect::<Vec<_>>()
                .join(", "),
            password
        );
        println!();
        println!("Try a query (a disclosure-controlled aggregate, with its disclosure report):");
        println!(
            "  curl -s http://{addr}/api/v1/projects/{}/queries -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{\"sql\": \"{sql}\"}}'",
            seed.project, seed.token
        );
        println!("and one the policy refuses (rows, not aggregates):");
        println!(
            "  curl -s http://{addr}/api/v1/projects/{}/queries -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{\"sql\": \"SELECT * FROM receipts\"}}'",
            seed.project, seed.token
        );
        if args.no_serve {
            return anyhow::Ok(());
        }
        println!("\nServing until Ctrl-C.");
        niji_query_api::serve(bound, state).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn demo_password() -> anyhow::Result<String> {
    let mut b = [0u8; 9];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("random: {e}"))?;
    Ok(format!(
        "demo-{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    ))
}
