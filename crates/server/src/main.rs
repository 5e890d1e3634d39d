//! `tongban`: one binary for the whole platform. The command line is defined in `cli.rs`;
//! this runs it (the longer operator commands are in `commands.rs`).

mod cli;
mod commands;

use clap::Parser;
use cli::*;
use commands::*;
use std::process::ExitCode;
use tongban_platform::config::Config;
use tongban_platform::Ctx;

/// mimalloc rather than glibc's malloc: requests allocate and free many small values across
/// two threads, where glibc spent a fifth of their time (consolidating and unlinking chunks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Command::Clients(ClientsCmd::Add(a)) => clients_add(&config, a),
        Command::Clients(ClientsCmd::List) => clients_list(&config),
        Command::Audit(AuditCmd::Verify) => {
            let db = tongban_server::open_and_migrate(&config)?;
            match db
                .write_blocking(tongban_platform::audit::verify)
                .map_err(|e| format!("cannot read the audit log: {e}"))?
            {
                tongban_platform::audit::Chain::Holds(n) => {
                    println!("audit chain holds: {n} entries verified");
                    Ok(())
                }
                tongban_platform::audit::Chain::Broken { seq, why } => {
                    Err(format!("audit chain broken at entry {seq}: {why}"))
                }
            }
        }
        Command::Exchange(ExchangeCmd::Verify) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let chain = db
                .write_blocking(tongban_exchange::log::verify)
                .map_err(|e| format!("cannot read the message log: {e}"))?;
            match chain.broken {
                None => {
                    println!("message log holds: {} entries verified", chain.entries);
                    Ok(())
                }
                Some((seq, why)) => Err(format!("message log broken at entry {seq}: {why}")),
            }
        }
        Command::Exchange(ExchangeCmd::Peer(cmd)) => exchange_peer(&config, cmd),
        Command::Search(SearchCmd::Rebuild) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let now = tongban_platform::time::now_millis();
            db.write_blocking(move |c| tongban_portal::search::request_rebuild(c, now))
                .map_err(|e| format!("cannot ask for a rebuild: {e}"))?;
            println!("every node rebuilds its search index within one worker pass");
            Ok(())
        }
        Command::Sites(SitesCmd::Load { file }) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let db = tongban_server::open_and_migrate(&config)?;
            let now = tongban_platform::time::now_millis();
            let n = db
                .write_blocking(move |c| {
                    let n = tongban_portal::sites::load_json(c, &text, now)
                        .map_err(|e| tongban_platform::db::DbError::Decode(e.to_string()))?;
                    let op = tongban_platform::audit::Entry::operator(
                        "site.load",
                        "",
                        &format!("{n} sites"),
                    );
                    tongban_platform::audit::append(c, &op)?;
                    Ok(n)
                })
                .map_err(|e| format!("sites not loaded: {e}"))?;
            println!("{n} sites loaded");
            Ok(())
        }
        Command::Sites(SitesCmd::List) => {
            let db = tongban_server::open_and_migrate(&config)?;
            let sites = db
                .write_blocking(tongban_portal::sites::list)
                .map_err(|e| format!("cannot read the sites: {e}"))?;
            for s in sites {
                let cols: Vec<&str> = s.columns.iter().map(|c| c.code.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    s.code,
                    s.kind,
                    s.name,
                    s.department,
                    s.host.as_deref().unwrap_or("-"),
                    cols.join(",")
                );
            }
            Ok(())
        }
        Command::Exchange(ExchangeCmd::Load {
            registry,
            department,
            key_field,
            file,
        }) => exchange_load(&config, &registry, &department, &key_field, &file),
        Command::Audit(AuditCmd::Export { since, out }) => audit_export(&config, &since, out),
        Command::Audit(AuditCmd::Prune { before }) => {
            let start = day_start(&config, &before, "--before")?;
            let db = tongban_server::open_and_migrate(&config)?;
            let retention = config.audit_retention_days * 86_400_000;
            let now = tongban_platform::time::now_millis();
            let op = tongban_platform::audit::Entry::operator("audit.prune", "", "");
            tongban_platform::audit::may_prune(start, retention, now)?;
            let n = db
                .write_blocking(move |c| tongban_platform::audit::prune(c, start, op))
                .map_err(|e| format!("cannot prune: {e}"))?;
            println!("{n} audit entries before {before} removed; the chain verifies from the new checkpoint");
            Ok(())
        }
        Command::Region(RegionCmd::Import { dir }) => {
            let db = tongban_server::open_and_migrate(&config)?;
            match tongban_server::region::import(&db, &dir) {
                Ok(r) => {
                    println!(
                        "region {} imported: {} divisions ({} retired), {} departments, {} halls, {} boundaries, {} categories, {} routing rules",
                        r.name, r.divisions, r.retired, r.departments, r.halls, r.boundaries, r.categories, r.rules
                    );
                    Ok(())
                }
                Err(errors) => Err(format!(
                    "{} has {} problem(s); nothing imported:\n{}",
                    dir.display(),
                    errors.len(),
                    errors.join("\n")
                )),
            }
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
            let d = tongban_insight::evaluation::parse_month(&month).map_err(|e| e.to_string())?;
            let db = tongban_server::open_and_migrate(&config)?;
            let tz = config.tz();
            let now = tongban_platform::time::now_millis();
            let report = db
                .write_blocking(move |c| {
                    let cal = tongban_platform::calendar::load(c)?;
                    let region = tongban_platform::region::load(c)?;
                    let basis = tongban_insight::evaluation::Basis::of(&config, &region);
                    tongban_insight::evaluation::compute(c, d, now, &cal, &basis, tz)
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

fn serve(mut config: Config, demo: Option<u32>) -> Result<(), String> {
    // The demo runs without an SMS gateway: registration codes are shown on the page.
    if demo.is_some() && config.sms_url.is_none() {
        config.sms_url = Some("demo://".into());
        println!("text messages: none are sent (sms_url = demo://); registration codes are shown on the page");
    } else if config.sms_demo() {
        tracing::warn!("sms_url = demo://: verification codes are shown to whoever asks for them; set a real gateway before citizens use this");
    }
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
    // Without a region there are no districts or categories: work orders cannot be filed.
    if !tongban_server::region::present(&db).map_err(|e| format!("cannot read the region: {e}"))? {
        eprintln!(
            "tongban: no region is loaded, so work orders cannot be filed yet: run `tongban region import DIR` (docs/operations.md, \"The region\"); `tongban demo` loads the Wuxi demo region"
        );
    }
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
