//! What the operator commands do: backup and restore, audit export, history import and
//! staff accounts (the thin ones stay in `main.rs`).

use crate::cli::{ClientAdd, StaffAdd};
use std::io::Read;
use std::path::PathBuf;
use tongban_platform::config::Config;
use tongban_platform::identity::{self, NewStaff, Role};

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

pub(crate) fn backup(config: &Config, file: &std::path::Path) -> Result<(), String> {
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

pub(crate) fn restore(config: &Config, file: &std::path::Path) -> Result<(), String> {
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
pub(crate) fn day_start(config: &Config, date: &str, what: &str) -> Result<i64, String> {
    tongban_platform::time::day_start(date, config.tz()).ok_or_else(|| {
        format!(
            "{what} {date:?} is not a date in {}; use YYYY-MM-DD",
            config.timezone
        )
    })
}

pub(crate) fn audit_export(
    config: &Config,
    since: &str,
    out: Option<PathBuf>,
) -> Result<(), String> {
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
            .write_blocking(move |c| {
                tongban_platform::audit::link(c)?;
                tongban_platform::audit::since(c, start, 5000, after)
            })
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

pub(crate) fn import_orders(config: &Config, file: &std::path::Path) -> Result<(), String> {
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
    if !checked.errors.is_empty() {
        for e in &checked.errors {
            eprintln!("{e}");
        }
        return Err(format!(
            "{} has bad lines (first {} shown); nothing was imported",
            file.display(),
            checked.errors.len()
        ));
    }
    let total = checked.good;
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

pub(crate) fn staff_add(config: &Config, a: StaffAdd) -> Result<(), String> {
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
    let known = db
        .write_blocking({
            let dept = dept.clone();
            move |c| identity::get_department(c, &dept)
        })
        .map_err(|e| format!("cannot add staff: {e}"))?;
    if known.is_none() {
        return Err(format!(
            "department {dept:?} does not exist; import the catalogue first or check the code"
        ));
    }
    let res = db.write_blocking(move |c| {
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
                Ok(id)
            }
            Err(e) => Err(e),
        }
    });
    let id = match res {
        Ok(id) => id,
        Err(tongban_platform::db::DbError::Unique(_)) => {
            return Err(format!("username {username:?} is taken"))
        }
        Err(e) => return Err(format!("cannot add staff: {e}")),
    };
    println!("staff {username} added (id {id}) to {}", a.department);
    if let Some(secret) = &secret_out {
        println!(
            "{}",
            tongban_platform::totp::uri("Tongban", &username, secret)
        );
    }
    Ok(())
}

/// `tongban exchange peer add|list|remove`.
pub(crate) fn exchange_peer(config: &Config, cmd: crate::cli::PeerCmd) -> Result<(), String> {
    use tongban_exchange::peers;
    let db = tongban_server::open_and_migrate(config)?;
    match cmd {
        crate::cli::PeerCmd::Add {
            name,
            url,
            public_key,
        } => {
            let name = name.unwrap_or_else(|| peers::default_name(&url));
            let now = tongban_platform::time::now_millis();
            let peer = peers::check(&name, &url, &public_key, now).map_err(|e| e.to_string())?;
            let entry =
                tongban_platform::audit::Entry::operator("exchange.peer_add", &peer.name, "ok")
                    .with_detail(format!("{} {}", peer.url, peer.key_id));
            let p2 = peer.clone();
            let new = db
                .write_blocking(move |c| {
                    let new = peers::save(c, &p2)
                        .map_err(|e| tongban_platform::db::DbError::Engine(e.to_string()))?;
                    tongban_platform::audit::append(c, &entry)?;
                    Ok(new)
                })
                .map_err(|e| format!("peer not saved: {e}"))?;
            println!(
                "peer {} {}: {} pinned to key {}; grant its departments as {}/{{department}}",
                peer.name,
                if new { "added" } else { "updated" },
                peer.url,
                peer.key_id,
                peer.name
            );
            Ok(())
        }
        crate::cli::PeerCmd::List => {
            let list = db
                .write_blocking(|c| peers::list(c))
                .map_err(|e| format!("cannot read the peers: {e}"))?;
            if list.is_empty() {
                println!("no peers: add one with `tongban exchange peer add`");
            }
            for p in list {
                println!("{}\t{}\t{}\t{}", p.name, p.url, p.key_id, p.public_key);
            }
            Ok(())
        }
        crate::cli::PeerCmd::Remove { name } => {
            let entry =
                tongban_platform::audit::Entry::operator("exchange.peer_remove", &name, "ok");
            let n2 = name.clone();
            let removed = db
                .write_blocking(move |c| {
                    let removed = peers::remove(c, &n2)?;
                    if removed {
                        tongban_platform::audit::append(c, &entry)?;
                    }
                    Ok(removed)
                })
                .map_err(|e| format!("cannot remove the peer: {e}"))?;
            if removed {
                println!("peer {name} removed: its calls are refused from now on");
                Ok(())
            } else {
                Err(format!("there is no peer {name}"))
            }
        }
    }
}

/// `tongban exchange load`: a base registry from a file, as its department's.
pub(crate) fn exchange_load(
    config: &Config,
    registry: &str,
    department: &str,
    key_field: &str,
    file: &std::path::Path,
) -> Result<(), String> {
    let db = tongban_server::open_and_migrate(config)?;
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let d = department.to_owned();
    if db
        .write_blocking(move |c| tongban_platform::identity::get_department(c, &d))
        .map_err(|e| e.to_string())?
        .is_none()
    {
        return Err(format!("there is no department {department}"));
    }
    let filename = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let entry = tongban_platform::audit::Entry::operator("exchange.registry", registry, "ok");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let n = rt
        .block_on(tongban_exchange::access::store_registry(
            &db, department, registry, key_field, &filename, &bytes, entry,
        ))
        .map_err(|e| format!("{} not loaded: {e}", file.display()))?;
    println!("registry {registry} of {department} loaded: {n} records, sealed");
    Ok(())
}

/// `tongban clients add`: register an app as an administrator would on the console (audited
/// as the operator).
pub(crate) fn clients_add(config: &Config, a: ClientAdd) -> Result<(), String> {
    let n = tongban_identity::clients::NewClient {
        name: a.name,
        redirect_uris: a.redirect_uris,
        scopes: a.scopes,
        confidential: !a.public,
        rate_per_minute: a.rate_per_minute,
    };
    tongban_identity::clients::check_new(&n).map_err(|e| e.to_string())?;
    let db = tongban_server::open_and_migrate(config)?;
    let now = tongban_platform::time::now_millis();
    let (client, secret) = db
        .write_blocking(move |c| {
            let out = tongban_identity::clients::register(c, &n, "operator", now)?;
            let op =
                tongban_platform::audit::Entry::operator("oidc.client.add", &out.0.client_id, "ok");
            tongban_platform::audit::append(c, &op)?;
            Ok(out)
        })
        .map_err(|e| format!("the app was not registered: {e}"))?;
    println!("client_id:     {}", client.client_id);
    if let Some(s) = secret {
        println!("client_secret: {s}   (shown once; keep it in the app's configuration)");
    }
    Ok(())
}

/// `tongban clients list`.
pub(crate) fn clients_list(config: &Config) -> Result<(), String> {
    let db = tongban_server::open_and_migrate(config)?;
    let mut page = 0;
    loop {
        let (items, total) = db
            .write_blocking(move |c| tongban_identity::clients::list(c, 100, page * 100))
            .map_err(|e| format!("cannot read the apps: {e}"))?;
        for k in &items {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                k.client_id,
                k.name,
                k.scopes.join(" "),
                k.redirect_uris.join(" "),
                if k.disabled { "off" } else { "on" }
            );
        }
        page += 1;
        if page * 100 >= total {
            return Ok(());
        }
    }
}
