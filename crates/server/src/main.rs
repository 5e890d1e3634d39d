//! `tongban`: one binary for the whole platform. Subcommands: serve, demo, migrate,
//! staff add, matters import/export, calendar import.

use clap::{Args, Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use tongban_platform::config::Config;
use tongban_platform::identity::{self, NewStaff, Role};
use tongban_platform::Ctx;

#[derive(Parser)]
#[command(
    name = "tongban",
    version,
    about = "通办 Tongban: one-stop city e-government platform"
)]
struct Cli {
    /// TOML configuration file; TONGBAN_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve the public and internal listeners.
    Serve,
    /// As serve, seeding the demo catalogue and accounts into an empty database first, with a
    /// plausible past (work orders, cases, ratings, page views) for topics and reports.
    Demo {
        /// Days of history to generate before today (0 for none).
        #[arg(long, default_value_t = 365)]
        history_days: u32,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Staff accounts.
    #[command(subcommand)]
    Staff(StaffCmd),
    /// The service catalogue as XLSX or JSON.
    #[command(subcommand)]
    Matters(MattersCmd),
    /// The working-day calendar.
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The SM4 data keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Work orders.
    #[command(subcommand)]
    Workorders(WorkordersCmd),
    /// Reports.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Open311 API keys for partner applications.
    #[command(subcommand)]
    Apikey(ApikeyCmd),
    /// Derived data of the dashboards.
    #[command(subcommand)]
    Insight(InsightCmd),
    /// Background followers (insight's analysis, the outbox) and their quarantine.
    #[command(subcommand)]
    Followers(FollowersCmd),
    /// Take a consistent online backup: SQLite `VACUUM INTO` a new file, or `pg_dump` for
    /// PostgreSQL (custom format). The data key file is not in it: back that up on its own.
    Backup { file: PathBuf },
    /// Restore a backup into the database of TONGBAN_DATABASE_URL (stop the servers first).
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
enum ReportCmd {
    /// The e-government evaluation of a month as an XLSX workbook (总览 and 指标 sheets).
    Evaluation {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Where to write the workbook.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum WorkordersCmd {
    /// Load history from JSON lines (order_no, received_at, channel, type, category, district,
    /// street, title, content, status, closed_at?, department?, reply?, replied_at?). Every line is checked first;
    /// a file with a bad line imports nothing and the bad lines are listed by number.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum InsightCmd {
    /// Recompute the daily figures behind the dashboards for every day from the first
    /// application or work order to today (after loading data by SQL, or to check them).
    Rebuild,
}

#[derive(Subcommand)]
enum FollowersCmd {
    /// List the rows the followers set aside (quarantine), newest first.
    List,
    /// Mark quarantined rows to be tried again; the workers take them within one interval.
    Retry {
        /// Only this follower's rows (`insight.index`, `outbox`).
        #[arg(long)]
        follower: Option<String>,
    },
}

#[derive(Subcommand)]
enum ApikeyCmd {
    /// Issue a key and print it (it is stored only as its SM3 hash and shown this once).
    Add {
        /// The partner application's name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Create the deployment's SM2 signing key pair (kept in the key file; the public key is
    /// published at GET /api/v1/keys).
    Init,
    /// Add a new data key, make it current, and re-encrypt all personal data under it
    /// (running servers pick the new key up within a minute and read both meanwhile).
    Rotate,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Walk the SM3 hash chain; exit non-zero naming the first entry changed, removed or reordered.
    Verify,
    /// Delete entries older than a date (YYYY-MM-DD), after exporting them; refused within the
    /// retention period (audit_retention_days, at least 180). The chain stays verifiable.
    Prune {
        #[arg(long, value_name = "DATE")]
        before: String,
    },
    /// Write entries at or after a date (YYYY-MM-DD, in the configured zone) as JSON lines.
    Export {
        #[arg(long, value_name = "DATE")]
        since: String,
        /// Output file (standard output when absent).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum StaffCmd {
    /// Create a staff account.
    Add(StaffAdd),
}

#[derive(Args)]
struct StaffAdd {
    /// Login name.
    #[arg(long)]
    username: String,
    /// Department code, e.g. wx-gaj (see the catalogue).
    #[arg(long)]
    department: String,
    /// Comma-separated roles: clerk, reviewer, approver, admin, auditor, pii_reader,
    /// dispatcher, handler, supervisor, editor.
    #[arg(long)]
    roles: String,
    /// Display name (defaults to the username).
    #[arg(long)]
    name: Option<String>,
    /// Read the password from standard input (first line).
    #[arg(long)]
    password_stdin: bool,
    /// Where the staff member receives notices (early warnings), optional.
    #[arg(long)]
    email: Option<String>,
    /// Enrol a TOTP second factor and print its otpauth:// URI (required for admin).
    #[arg(long)]
    totp: bool,
}

#[derive(Subcommand)]
enum MattersCmd {
    /// Import matters from FILE.xlsx or FILE.json; all or nothing.
    Import { file: PathBuf },
    /// Export every matter to FILE.xlsx or FILE.json.
    Export { file: PathBuf },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// Import holiday lines (date,kind,name,year) from a CSV file; replaces the years in it.
    Import { file: PathBuf },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TONGBAN_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tongban: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve(config, None),
        Command::Demo { history_days } => serve(config, Some(history_days)),
        Command::Migrate => {
            tongban_server::open_and_migrate(&config)?;
            println!("migrations applied to {}", config.database_url);
            Ok(())
        }
        Command::Staff(StaffCmd::Add(a)) => staff_add(&config, a),
        Command::Audit(AuditCmd::Verify) => {
            let db = tongban_server::open_and_migrate(&config)?;
            match db
                .write_blocking(tongban_platform::audit::verify)
                .map_err(|e| format!("cannot read the audit log: {e}"))?
            {
                Ok(n) => {
                    println!("audit chain holds: {n} entries verified");
                    Ok(())
                }
                Err((seq, why)) => Err(format!("audit chain broken at entry {seq}: {why}")),
            }
        }
        Command::Audit(AuditCmd::Export { since, out }) => audit_export(&config, &since, out),
        Command::Audit(AuditCmd::Prune { before }) => {
            let start = day_start(&config, &before, "--before")?;
            let db = tongban_server::open_and_migrate(&config)?;
            let retention = config.audit_retention_days * 86_400_000;
            let now = tongban_platform::time::now_millis();
            let op = tongban_platform::audit::Entry::operator("audit.prune", "", "");
            let res = db
                .write_blocking(move |c| {
                    tongban_platform::audit::prune(c, start, retention, now, op)
                })
                .map_err(|e| format!("cannot prune: {e}"))?;
            let n = res?;
            println!("{n} audit entries before {before} removed; the chain verifies from the new checkpoint");
            Ok(())
        }
        Command::Backup { file } => backup(&config, &file),
        Command::Restore { file } => restore(&config, &file),
        Command::Workorders(WorkordersCmd::Import { file }) => import_orders(&config, &file),
        Command::Insight(InsightCmd::Rebuild) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            let t = std::time::Instant::now();
            let ctx = Ctx::new(db, config);
            let days = rt
                .block_on(tongban_insight::facts::rebuild(&ctx))
                .map_err(|e| format!("cannot rebuild the daily figures: {e}"))?;
            println!(
                "daily figures recomputed for {days} days in {:.1} s",
                t.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Followers(FollowersCmd::List) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let (items, total) = db
                .write_blocking(|c| tongban_platform::followers::list(c, 1000, 0))
                .map_err(|e| format!("cannot read the quarantine: {e}"))?;
            for q in &items {
                println!(
                    "{}\t{}\t{} attempt(s){}\t{}",
                    q.follower,
                    q.row_ref,
                    q.attempts,
                    if q.retry { ", retry pending" } else { "" },
                    q.error
                );
            }
            println!("{total} row(s) in quarantine");
            Ok(())
        }
        Command::Followers(FollowersCmd::Retry { follower }) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let f2 = follower.clone();
            let n = db
                .write_blocking(move |c| {
                    let n = tongban_platform::followers::mark_retry(c, f2.as_deref())?;
                    let entry = tongban_platform::audit::Entry::operator(
                        "followers.retry",
                        f2.as_deref().unwrap_or("all"),
                        &format!("{n} rows"),
                    );
                    tongban_platform::audit::append(c, &entry)?;
                    Ok(n)
                })
                .map_err(|e| format!("cannot mark rows for retry: {e}"))?;
            println!("{n} quarantined row(s) marked; the workers try them within one interval");
            Ok(())
        }
        Command::Report(ReportCmd::Evaluation { month, out }) => {
            let d = tongban_insight::evaluation::parse_month(&month).map_err(|e| e.message)?;
            let db = tongban_server::open_and_migrate(&config)?;
            let (pop, weights, tz) = (
                config.population,
                config.evaluation_weights.clone(),
                config.tz(),
            );
            let now = tongban_platform::time::now_millis();
            let report = db
                .write_blocking(move |c| {
                    let cal = tongban_platform::calendar::load(c)?;
                    tongban_insight::evaluation::compute(c, d, now, &cal, pop, &weights, tz)
                })
                .map_err(|e| format!("cannot compute the evaluation: {e}"))?;
            let bytes = tongban_insight::evaluation::workbook(&report)?;
            std::fs::write(&out, bytes)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!(
                "evaluation {} written to {} (index {})",
                report.month,
                out.display(),
                report
                    .index
                    .map_or_else(|| "—".to_owned(), |x| x.to_string())
            );
            Ok(())
        }
        Command::Apikey(ApikeyCmd::Add { name }) => {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(
                    "give --name: the partner application's name (1-100 characters)".into(),
                );
            }
            let db = tongban_server::open_and_migrate(&config)?;
            let n2 = name.clone();
            let key = db
                .write_blocking(move |c| {
                    let key = tongban_hotline::open311::add_key(
                        c,
                        &n2,
                        tongban_platform::time::now_millis(),
                    )?;
                    let entry = tongban_platform::audit::Entry::operator("apikey.add", &n2, "");
                    tongban_platform::audit::append(c, &entry)?;
                    Ok(key)
                })
                .map_err(|e| format!("cannot issue the key: {e}"))?;
            println!("{key}");
            eprintln!("Open311 key for {name} issued; it is shown only now");
            Ok(())
        }
        Command::Keys(KeysCmd::Init) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let mut keys =
                tongban_platform::vault::Keys::load(&config.key_file).map_err(|e| e.to_string())?;
            if !keys.init_signing() {
                println!("the SM2 signing key already exists; nothing changed");
                return Ok(());
            }
            keys.save(&config.key_file).map_err(|e| e.to_string())?;
            let public = keys.public_keys();
            let entry = tongban_platform::audit::Entry::operator("keys.init", "sm2", "");
            db.write_blocking(move |c| tongban_platform::audit::append(c, &entry))
                .map_err(|e| format!("cannot write the audit log: {e}"))?;
            for k in public {
                println!("SM2 key {} created; public key {}", k.id, k.public_key);
            }
            Ok(())
        }
        Command::Keys(KeysCmd::Rotate) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let mut keys =
                tongban_platform::vault::Keys::load(&config.key_file).map_err(|e| e.to_string())?;
            // The new key goes into the file, then into the database's registry, and only
            // then becomes current: a crash between steps leaves every node able to start.
            let id = keys.add_key();
            keys.save(&config.key_file).map_err(|e| e.to_string())?;
            let k2 = keys.clone();
            let now = tongban_platform::time::now_millis();
            db.write_blocking(move |c| {
                tongban_platform::keyring::register(c, &k2, now)
                    .map_err(|e| tongban_platform::db::DbError::Engine(e.to_string()))
            })
            .map_err(|e| format!("cannot register the new key: {e}"))?;
            keys.set_current(&id);
            keys.save(&config.key_file).map_err(|e| e.to_string())?;
            tongban_platform::vault::install(keys);
            let n = tongban_server::reencrypt(&db, &config)?;
            let entry = tongban_platform::audit::Entry::operator(
                "keys.rotate",
                &id,
                &format!("{n} rows re-encrypted"),
            );
            db.write_blocking(move |c| tongban_platform::audit::append(c, &entry))
                .map_err(|e| format!("cannot write the audit log: {e}"))?;
            println!("new data key {id} is current; {n} rows re-encrypted");
            Ok(())
        }
        Command::Matters(MattersCmd::Import { file }) => {
            let matters = tongban_catalog::exchange::read_file(&file).map_err(|errs| {
                format!(
                    "{} problem(s) in {}, nothing imported:\n  {}",
                    errs.len(),
                    file.display(),
                    errs.join("\n  ")
                )
            })?;
            let db = tongban_server::open_and_migrate(&config)?;
            let n = matters.len();
            let entry = tongban_platform::audit::Entry::operator(
                "matter.import",
                &file.display().to_string(),
                &format!("{n} matters"),
            );
            db.write_blocking(move |c| {
                tongban_catalog::store::save(c, &matters)?;
                tongban_platform::audit::append(c, &entry).map(|_| ())
            })
            .map_err(|e| format!("import failed, nothing imported: {e}"))?;
            println!("imported {n} matters from {}", file.display());
            Ok(())
        }
        Command::Matters(MattersCmd::Export { file }) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let matters = db
                .write_blocking(tongban_catalog::store::all)
                .map_err(|e| format!("cannot read the catalogue: {e}"))?;
            tongban_catalog::exchange::write_file(&matters, &file)?;
            println!("exported {} matters to {}", matters.len(), file.display());
            Ok(())
        }
        Command::Calendar(CalendarCmd::Import { file }) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let entries = tongban_platform::calendar::parse_csv(&text)
                .map_err(|e| format!("{}: {e}; nothing imported", file.display()))?;
            if entries.is_empty() {
                return Err(format!("{} holds no calendar lines", file.display()));
            }
            let db = tongban_server::open_and_migrate(&config)?;
            let n = entries.len();
            let years = db
                .write_blocking(move |c| {
                    let years = tongban_platform::calendar::import(c, &entries)?;
                    let entry = tongban_platform::audit::Entry::operator(
                        "calendar.import",
                        "",
                        &format!("{years:?}"),
                    );
                    tongban_platform::audit::append(c, &entry)?;
                    Ok(years)
                })
                .map_err(|e| format!("import failed: {e}"))?;
            println!("imported {n} calendar lines for {years:?}; running servers pick them up within a minute");
            Ok(())
        }
    }
}

/// The schema a PostgreSQL URL selects with `options=-c search_path=…`, if any.
fn pg_schema(url: &str) -> Option<String> {
    let decoded = url
        .replace("%3D", "=")
        .replace("%3d", "=")
        .replace("%20", " ");
    let after = decoded.split("search_path=").nth(1)?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn run_tool(cmd: &mut std::process::Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn backup(config: &Config, file: &std::path::Path) -> Result<(), String> {
    if file.exists() {
        return Err(format!("{} exists; choose a new file name", file.display()));
    }
    let target = file.to_str().ok_or("the backup path must be UTF-8")?;
    if tongban_platform::db::sqlite_file(&config.database_url).is_some() {
        let db = tongban_server::open_and_migrate(config)?;
        db.backup_sqlite(target)
            .map_err(|e| format!("backup failed: {e}"))?;
    } else {
        let mut cmd = std::process::Command::new("pg_dump");
        cmd.args(["--format=custom", "--file", target]);
        if let Some(schema) = pg_schema(&config.database_url) {
            cmd.args(["--schema", &schema]);
        }
        cmd.arg(&config.database_url);
        run_tool(&mut cmd)?;
    }
    println!(
        "backup written to {} (the data key file {} is not in it)",
        file.display(),
        config.key_file.display()
    );
    Ok(())
}

fn restore(config: &Config, file: &std::path::Path) -> Result<(), String> {
    let source = file.to_str().ok_or("the backup path must be UTF-8")?;
    if !file.exists() {
        return Err(format!("{} does not exist", file.display()));
    }
    if let Some(target) = tongban_platform::db::sqlite_file(&config.database_url) {
        for ext in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{target}{ext}"));
        }
        tongban_platform::db::restore_sqlite(target, source)
            .map_err(|e| format!("restore failed: {e}"))?;
    } else {
        let mut cmd = std::process::Command::new("pg_restore");
        cmd.args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--dbname",
            &config.database_url,
            source,
        ]);
        run_tool(&mut cmd)?;
    }
    // The restored database is checked and brought up to this version.
    tongban_server::open_and_migrate(config)?;
    println!("restored {} into {}", file.display(), config.database_url);
    Ok(())
}

/// Midnight at the start of `date` in the configured zone, as UTC milliseconds.
fn day_start(config: &Config, date: &str, what: &str) -> Result<i64, String> {
    tongban_platform::time::day_start(date, config.tz()).ok_or_else(|| {
        format!(
            "{what} {date:?} is not a date in {}; use YYYY-MM-DD",
            config.timezone
        )
    })
}

fn audit_export(config: &Config, since: &str, out: Option<PathBuf>) -> Result<(), String> {
    use std::io::Write;
    let start = day_start(config, since, "--since")?;
    let tz = config.tz();
    let db = tongban_server::open_and_migrate(config)?;
    let mut sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(
            std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut after = 0;
    let mut n = 0;
    loop {
        let batch = db
            .write_blocking(move |c| tongban_platform::audit::since(c, start, 5000, after))
            .map_err(|e| format!("cannot read the audit log: {e}"))?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for e in &batch {
            let mut v = serde_json::to_value(e).map_err(|e| e.to_string())?;
            v["at"] = serde_json::Value::String(tongban_platform::time::rfc3339(e.at, tz));
            writeln!(sink, "{v}").map_err(|e| format!("cannot write: {e}"))?;
            n += 1;
        }
    }
    if out.is_some() {
        println!("exported {n} audit entries since {since}");
    }
    Ok(())
}

fn import_orders(config: &Config, file: &std::path::Path) -> Result<(), String> {
    use std::io::BufReader;
    let open = || {
        std::fs::File::open(file)
            .map(BufReader::new)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))
    };
    let db = tongban_server::open_and_migrate(config)?;
    let now = tongban_platform::time::now_millis();
    let (settings, departments) = db
        .write_blocking(|c| {
            let d = tongban_platform::identity::list_departments(c)?
                .into_iter()
                .map(|d| d.code)
                .collect::<Vec<_>>();
            Ok((tongban_hotline::settings::load(c)?, d))
        })
        .map_err(|e| format!("cannot read the configuration: {e}"))?;
    let reader = open()?;
    let (s2, d2) = (settings.clone(), departments.clone());
    let checked = db
        .write_blocking(move |c| tongban_hotline::import::check_all(reader, c, &s2, &d2, now, 100))
        .map_err(|e| format!("cannot check the file: {e}"))?;
    let total = match checked {
        Ok(n) => n,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return Err(format!(
                "{} has bad lines (first {} shown); nothing was imported",
                file.display(),
                errors.len()
            ));
        }
    };
    let reader = open()?;
    let cal = tongban_platform::calendar::Calendar::builtin();
    let tz = config.tz();
    let entry = tongban_platform::audit::Entry::operator(
        "workorders.import",
        &file.display().to_string(),
        &format!("{total} orders"),
    );
    db.write_blocking(move |c| {
        let cal = tongban_platform::calendar::load(c).unwrap_or(cal);
        let mut done = 0usize;
        for line in std::io::BufRead::lines(reader) {
            let text = line
                .map_err(|e| tongban_platform::db::DbError::Engine(format!("cannot read: {e}")))?;
            if text.trim().is_empty() {
                continue;
            }
            let k = tongban_hotline::import::check_line(&text, &settings, &departments, now)
                .map_err(|e| {
                    tongban_platform::db::DbError::Engine(format!(
                        "the file changed while importing: {e}"
                    ))
                })?;
            tongban_hotline::import::store(c, k, &cal, &settings, tz)?;
            done += 1;
            if done.is_multiple_of(1000) || done == total {
                eprint!(
                    "\rimporting {done}/{total} ({}%)",
                    done * 100 / total.max(1)
                );
            }
        }
        eprintln!();
        tongban_platform::audit::append(c, &entry)
    })
    .map_err(|e| format!("import failed, nothing was imported: {e}"))?;
    println!("imported {total} work orders from {}", file.display());
    Ok(())
}

fn staff_add(config: &Config, a: StaffAdd) -> Result<(), String> {
    let roles = Role::parse_list(&a.roles)?;
    if roles.contains(&Role::Admin) && !a.totp {
        return Err("the admin role needs a second factor: add --totp".into());
    }
    let secret = a.totp.then(tongban_platform::totp::new_secret);
    let secret_out = secret.clone();
    if !a.password_stdin {
        return Err("give --password-stdin and the password on standard input".into());
    }
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    let password = input.lines().next().unwrap_or("").to_owned();
    tongban_platform::crypto::check_password_policy(&password)?;
    let username = a.username.trim().to_owned();
    if username.is_empty() || username.len() > 64 || username.contains(char::is_whitespace) {
        return Err("the username must be 1-64 characters without spaces".into());
    }
    if let Some(e) = a.email.as_deref() {
        if !tongban_platform::notify::valid_email(e) {
            return Err(format!("--email {e:?} is not an e-mail address"));
        }
    }
    let email = a.email.clone();
    let hash = tongban_platform::crypto::hash_password(&password)?;
    let db = tongban_server::open_and_migrate(config)?;
    let dept = a.department.clone();
    let name = a.name.clone().unwrap_or_else(|| username.clone());
    let user2 = username.clone();
    let res = db.write_blocking(move |c| {
        if identity::get_department(c, &dept)?.is_none() {
            return Ok(Err(format!(
                "department {dept:?} does not exist; import the catalogue first or check the code"
            )));
        }
        match identity::insert_staff(
            c,
            &NewStaff {
                username: &user2,
                name: &name,
                department_code: &dept,
                roles: &roles,
                password_hash: &hash,
                totp_secret: secret.as_deref(),
            },
        ) {
            Ok(id) => {
                identity::set_staff_email(c, id, email.as_deref())?;
                let roles_text: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                let detail = format!("{dept} {}", roles_text.join(","));
                let entry = tongban_platform::audit::Entry::operator("staff.add", &user2, &detail);
                tongban_platform::audit::append(c, &entry)?;
                Ok(Ok(id))
            }
            Err(tongban_platform::db::DbError::Unique(_)) => {
                Ok(Err(format!("username {user2:?} is taken")))
            }
            Err(e) => Err(e),
        }
    });
    let id = res.map_err(|e| format!("cannot add staff: {e}"))??;
    println!("staff {username} added (id {id}) to {}", a.department);
    if let Some(secret) = &secret_out {
        println!(
            "{}",
            tongban_platform::totp::uri("Tongban", &username, secret)
        );
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager: finish the requests in flight, then stop.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    eprintln!("tongban: shutting down");
}

fn config_today(config: &Config) -> chrono::NaiveDate {
    tongban_platform::time::date_of(tongban_platform::time::now_millis(), config.tz())
}

fn serve(config: Config, demo: Option<u32>) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let db = tongban_server::open_and_migrate(&config)?;
    let mut history_loaded = false;
    if let Some(history_days) = demo {
        match tongban_server::demo::seed(&db)? {
            Some(s) => {
                let t = std::time::Instant::now();
                let h = tongban_server::history::fill(
                    &db,
                    history_days,
                    config_today(&config),
                    config.tz(),
                )?;
                if h.orders > 0 {
                    history_loaded = true;
                    println!(
                        "demo history: {history_days} days, {} work orders, {} cases, {} ratings ({:.1} s; topics and warnings follow within a minute)",
                        h.orders,
                        h.cases,
                        h.ratings,
                        t.elapsed().as_secs_f64()
                    );
                }
                println!(
                    "demo data seeded: {} matters, {} staff accounts",
                    s.matters,
                    s.staff.len()
                );
                for (user, dept, totp) in &s.staff {
                    println!(
                        "  staff  {user:<12} {dept}  password {}",
                        tongban_server::demo::DEMO_PASSWORD
                    );
                    if let Some(uri) = totp {
                        println!("         second factor (add to an authenticator app): {uri}");
                    }
                }
                println!(
                    "  citizen 张三  id_number {}  phone {}  password {}",
                    tongban_server::demo::demo_citizen_id(),
                    tongban_server::demo::DEMO_CITIZEN_PHONE,
                    tongban_server::demo::DEMO_PASSWORD
                );
            }
            None => println!("the database already holds a catalogue; demo data not seeded again"),
        }
    }
    std::fs::create_dir_all(&config.upload_dir).map_err(|e| {
        format!(
            "cannot create upload dir {}: {e}",
            config.upload_dir.display()
        )
    })?;
    rt.block_on(async move {
        let listeners =
            tongban_server::Listeners::bind(&config.public_addr, &config.internal_addr).await?;
        let (p, i) = listeners.addrs();
        println!("public   listener: http://{p}/   (citizens, open APIs)");
        println!("internal listener: http://{i}/   (staff, admin, /metrics)");
        let ctx = Ctx::new(db, config);
        // The history has no timelines to follow: its daily figures are computed once here.
        if history_loaded {
            let days = tongban_insight::facts::rebuild(&ctx)
                .await
                .map_err(|e| format!("cannot compute the dashboards' figures: {e}"))?;
            println!("dashboards: daily figures of {days} days computed");
        }
        tongban_server::serve(ctx, listeners, shutdown_signal()).await
    })
}
