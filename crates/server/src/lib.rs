//! The front door: composes every room's routers onto the two listeners, runs migrations,
//! seeds the demo, and serves. The CLI in `main.rs` is a thin layer over these functions.

pub mod conn;
pub mod demo;
pub mod history;
pub mod home;
pub mod metrics;
mod paths;
pub mod region;

pub use paths::{internal_paths, public_paths};

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tongban_platform::config::Config;
use tongban_platform::db::{Db, DbError, Migration};
use tongban_platform::{ApiError, Ctx};

/// Every room's migrations, in dependency order.
pub fn migrations() -> Vec<Migration> {
    [
        tongban_platform::MIGRATIONS,
        tongban_catalog::MIGRATIONS,
        tongban_cases::MIGRATIONS,
        tongban_hotline::MIGRATIONS,
        tongban_insight::MIGRATIONS,
        tongban_exchange::MIGRATIONS,
        tongban_portal::MIGRATIONS,
        tongban_opendata::MIGRATIONS,
        tongban_identity::MIGRATIONS,
    ]
    .concat()
}

/// Every sealed column of every room: what key rotation re-seals and what the key check
/// looks at to tell an empty database from one sealed before keys were registered.
pub fn sealed_columns() -> Vec<tongban_platform::keyring::Sealed> {
    [
        tongban_platform::keyring::SEALED,
        tongban_cases::store::SEALED,
        tongban_hotline::SEALED,
        tongban_exchange::SEALED,
    ]
    .concat()
}

/// Re-seal personal data that is in clear or under an older key, in batches, while the
/// server may be serving. Returns the number of values rewritten.
pub fn reencrypt(db: &Db, config: &Config) -> Result<usize, String> {
    let current = tongban_platform::vault::keys()
        .map_err(|e| e.to_string())?
        .current
        .clone();
    let mark =
        tongban_platform::keyring::sealing_mark(&current, &sealed_columns(), &config.upload_dir);
    let last = db
        .write_blocking(tongban_platform::keyring::last_sealing)
        .map_err(|e| format!("cannot read the sealing state: {e}"))?;
    if last.as_deref() == Some(mark.as_str()) {
        // Everything was sealed under this key when the columns and files were the same:
        // writes since were sealed under it too. No scan at every start.
        return Ok(0);
    }
    let mut total = 0;
    // Accounts first: values in clear also get their blind indexes.
    loop {
        let n = db
            .write_blocking(|c| tongban_platform::identity::reencrypt_accounts(c, 500))
            .map_err(|e| format!("re-encryption failed: {e}"))?;
        total += n;
        if n == 0 {
            break;
        }
    }
    for col in sealed_columns() {
        loop {
            let n = db
                .write_blocking(move |c| {
                    let keys = tongban_platform::vault::keys().map_err(DbError::from)?;
                    tongban_platform::keyring::reseal(c, col, &keys, 500)
                })
                .map_err(|e| {
                    format!("re-encryption of {}.{} failed: {e}", col.table, col.column)
                })?;
            total += n;
            if n == 0 {
                break;
            }
        }
    }
    // Uploaded materials and photos.
    total += tongban_platform::blobs::reseal_all(&config.upload_dir).map_err(|e| {
        format!(
            "re-sealing files in {} failed: {e}",
            config.upload_dir.display()
        )
    })?;
    db.write_blocking(move |c| tongban_platform::keyring::record_sealing(c, &mark))
        .map_err(|e| format!("cannot record the sealing pass: {e}"))?;
    Ok(total)
}

/// Open the database, check the key file against it (creating one only for an empty
/// database), apply migrations, register the keys, load the shipped calendar years, and
/// seal any personal data still in clear. Nothing is written when the key file is wrong.
pub fn open_and_migrate(config: &Config) -> Result<Db, String> {
    let db = Db::open(&config.database_url)
        .map_err(|e| format!("cannot open {}: {e}", config.database_url))?;
    let (keys, created) =
        tongban_platform::keyring::prepare(&db, &config.key_file, &sealed_columns())?;
    db.migrate(&migrations())
        .map_err(|e| format!("migration failed: {e}"))?;
    let k2 = keys.clone();
    let now = tongban_platform::time::now_millis();
    let registered = db.write_blocking(move |c| {
        tongban_platform::keyring::register(c, &k2, now).map_err(|e| DbError::Engine(e.to_string()))
    });
    if let Err(e) = registered {
        if created {
            // Ours lost a race with another process's first start: leave no stray file.
            let _ = std::fs::remove_file(&config.key_file);
        }
        return Err(e.to_string());
    }
    if created {
        eprintln!(
            "tongban: created data key file {} — back it up apart from the database",
            config.key_file.display()
        );
    }
    tongban_platform::vault::install(keys);
    db.write_blocking(tongban_platform::calendar::seed_builtin)
        .map_err(|e: DbError| format!("cannot seed the calendar: {e}"))?;
    reencrypt(&db, config)?;
    Ok(db)
}

/// Reload the key file on a running node (a rotation elsewhere adds a key), installing it
/// only when it still matches the database's fingerprints.
pub async fn reload_keys(ctx: &Ctx) -> Result<(), String> {
    let keys =
        tongban_platform::vault::Keys::load(&ctx.config.key_file).map_err(|e| e.to_string())?;
    let reg = ctx
        .db
        .read(tongban_platform::keyring::fingerprints)
        .await
        .map_err(|e| e.to_string())?;
    tongban_platform::keyring::check(&keys, &reg, &ctx.config.key_file)
        .map_err(|e| e.to_string())?;
    tongban_platform::vault::install(keys);
    Ok(())
}

pub const OPENAPI_JSON: &str = include_str!("openapi.json");
/// The staff API, served on the internal listener only.
pub const OPENAPI_INTERNAL_JSON: &str = include_str!("openapi-internal.json");

/// Request body limit for pages that upload: several files of the configured size.
fn upload_limit(ctx: &Ctx) -> usize {
    ctx.config
        .max_upload_bytes
        .saturating_mul(8)
        .saturating_add(1 << 20)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

/// Run the request with its peer address known to the rules (for the audit log).
async fn with_source(
    addr: tongban_platform::http::ClientAddr,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    tongban_platform::audit::SOURCE
        .scope(addr.0, next.run(req))
        .await
}

/// Count successful page views of the citizen site (not APIs, assets or health checks).
async fn count_visit(
    State(ctx): State<Ctx>,
    addr: tongban_platform::http::ClientAddr,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let page = req.method() == axum::http::Method::GET
        && ![
            "/api/",
            "/static/",
            "/open311/",
            "/healthz",
            "/lang/",
            "/elderly",
        ]
        .iter()
        .any(|p| req.uri().path().starts_with(p));
    let (ua, host) = {
        let h = req.headers();
        let text = |name| {
            h.get(name)
                .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        (text(header::USER_AGENT), text(header::HOST))
    };
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    if page && resp.status() == StatusCode::OK {
        let day = ctx.today().format("%Y-%m-%d").to_string();
        tongban_portal::visits::record(
            &ctx.db,
            &ctx.config.database_url,
            day.clone(),
            &path,
            &host,
            &addr.0,
            &ua,
        );
        tongban_insight::visits::record(&ctx.config.database_url, day, &addr.0, &ua);
    }
    resp
}

/// Unknown paths: a JSON error under `/api/` naming this listener's OpenAPI document, a
/// designed page elsewhere.
async fn not_found(page: tongban_web::Page, document: &str) -> axum::response::Response {
    if page.path.starts_with("/api/") || page.path == "/healthz" || page.path == "/metrics" {
        ApiError::not_found(
            "not_found",
            format!("no such path; see {document} for what this listener serves"),
        )
        .into_response()
    } else {
        page.not_found()
    }
}

async fn not_found_public(page: tongban_web::Page) -> axum::response::Response {
    not_found(page, "/api/openapi.json").await
}

async fn not_found_internal(page: tongban_web::Page) -> axum::response::Response {
    not_found(page, "/api/openapi-internal.json").await
}

/// The citizen-facing listener: public pages and APIs only.
pub fn public_app(ctx: Ctx, metrics: metrics::Metrics) -> Router {
    let limit = upload_limit(&ctx);
    let router = Router::new()
        .route("/", get(home::home))
        .route("/api/openapi.json", get(openapi))
        .merge(tongban_platform::routes::public_router())
        .merge(tongban_catalog::routes::public_router())
        .merge(tongban_cases::routes::public_router(
            ctx.config.max_upload_bytes,
        ))
        .merge(tongban_hotline::routes::public_router(
            ctx.config.max_upload_bytes,
        ))
        .merge(tongban_web::routes::public_router())
        .merge(tongban_exchange::cert_routes::public_router())
        .merge(tongban_exchange::cert_pages::public_router())
        .merge(tongban_portal::search::routes::public_router())
        .merge(tongban_portal::machines::public_router())
        .merge(tongban_portal::articles::routes::public_router())
        .merge(tongban_portal::disclosure::routes::public_router())
        .merge(tongban_portal::pages::public_router())
        .merge(tongban_portal::disclosure::pages::public_router())
        .merge(tongban_opendata::ckan::public_router().layer(DefaultBodyLimit::max(limit)))
        .merge(tongban_opendata::dump::public_router())
        .merge(tongban_opendata::files::public_router())
        .merge(tongban_opendata::dcat::public_router())
        .merge(tongban_identity::public_router())
        .merge(tongban_opendata::pages::public_router())
        .merge(tongban_catalog::pages::public_router())
        .merge(tongban_cases::pages::public_router().layer(DefaultBodyLimit::max(limit)))
        .merge(tongban_hotline::pages::public_router().layer(DefaultBodyLimit::max(limit)))
        .route_layer(axum::middleware::from_fn_with_state(
            metrics::Tag {
                metrics,
                listener: "public",
            },
            metrics::track,
        ))
        .fallback(not_found_public)
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            count_visit,
        ))
        .layer(axum::middleware::from_fn(tongban_web::security::headers))
        .layer(axum::middleware::from_fn(with_source));
    router.with_state(ctx)
}

/// The staff listener: console, staff APIs and `/metrics`. Never exposed to the internet.
pub fn internal_app(ctx: Ctx, metrics: metrics::Metrics) -> Router {
    let limit = upload_limit(&ctx);
    let metrics_route = Router::new()
        .route("/metrics", get(metrics::text))
        .with_state(metrics::InternalState {
            ctx: ctx.clone(),
            metrics: metrics.clone(),
        });
    let router = Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/console") }),
        )
        .route(
            "/api/openapi-internal.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    OPENAPI_INTERNAL_JSON,
                )
            }),
        )
        .merge(tongban_platform::routes::internal_router())
        .merge(tongban_cases::routes::internal_router())
        .merge(tongban_hotline::routes::internal_router())
        .merge(tongban_insight::routes::internal_router())
        .merge(tongban_exchange::routes::internal_router())
        .merge(tongban_exchange::cert_routes::internal_router())
        .merge(tongban_exchange::console::console_router())
        .merge(tongban_portal::search::routes::internal_router())
        .merge(
            tongban_portal::articles::routes::internal_router().layer(DefaultBodyLimit::max(limit)),
        )
        .merge(tongban_portal::disclosure::routes::internal_router())
        .merge(tongban_opendata::staff::internal_router())
        .merge(tongban_identity::staff::internal_router())
        .merge(tongban_portal::console::console_router())
        .merge(tongban_portal::console_sites::console_router().layer(DefaultBodyLimit::max(limit)))
        .merge(tongban_web::routes::console_router())
        .merge(tongban_catalog::pages::console_router().layer(DefaultBodyLimit::max(limit)))
        .merge(tongban_cases::pages::console_router())
        .merge(tongban_hotline::pages::console_router())
        .merge(tongban_insight::pages::console_router())
        .route_layer(axum::middleware::from_fn_with_state(
            metrics::Tag {
                metrics,
                listener: "internal",
            },
            metrics::track,
        ))
        .fallback(not_found_internal)
        .with_state(ctx);
    router
        .merge(metrics_route)
        .layer(axum::middleware::from_fn(tongban_web::security::headers))
        .layer(axum::middleware::from_fn(with_source))
}

/// Bound listeners, ready to serve.
pub struct Listeners {
    pub public: TcpListener,
    pub internal: TcpListener,
}

impl Listeners {
    pub async fn bind(public: &str, internal: &str) -> Result<Listeners, String> {
        let p = TcpListener::bind(public)
            .await
            .map_err(|e| format!("cannot listen on {public}: {e}"))?;
        let i = TcpListener::bind(internal)
            .await
            .map_err(|e| format!("cannot listen on {internal}: {e}"))?;
        Ok(Listeners {
            public: p,
            internal: i,
        })
    }
    pub fn addrs(&self) -> (SocketAddr, SocketAddr) {
        let p = self
            .public
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let i = self
            .internal
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        (p, i)
    }
}

/// Serve both listeners until `shutdown` resolves. Refreshes the calendar every minute.
pub async fn serve(
    ctx: Ctx,
    listeners: Listeners,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    if let Err(e) = ctx.reload_calendar().await {
        return Err(format!("cannot load the calendar: {e}"));
    }
    if let Err(e) = tongban_opendata::start(&ctx).await {
        return Err(format!("cannot prepare open data: {e}"));
    }
    // The one search: this node's index, built from the database in the background (a
    // search before it is ready builds it), and the catalogue's ranking of `/matters?q=`.
    tongban_platform::ranking::install(tongban_portal::search::rank_matters);
    {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            match tongban_portal::search::build(&ctx).await {
                Ok(n) => tracing::info!(documents = n, "search index built"),
                Err(e) => tracing::error!(error = %e, "search index not built"),
            }
        });
    }
    // Receipts and result notices embed a CJK font; say which, or that there is none.
    let font = ctx.config.pdf_font.clone();
    tokio::task::spawn_blocking(move || tongban_web::pdf::font::announce(font.as_deref()))
        .await
        .map_err(|e| e.to_string())??;
    let refresher = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = ctx.reload_calendar().await {
                    tracing::warn!(error = %e, "calendar refresh failed");
                }
                // A key rotation on any node reaches this one within a minute.
                if let Err(e) = reload_keys(&ctx).await {
                    tracing::error!(error = %e, "key file not reloaded");
                }
            }
        })
    };
    let worker = {
        let notifier = tongban_platform::notify::Notifier::from_config(
            &ctx.config,
            tongban_platform::sms::provider(ctx.config.sms_url.as_deref())?,
        )?;
        tokio::spawn(worker(ctx.clone(), notifier))
    };
    let m = metrics::Metrics::default();
    let ctx_limits = (
        ctx.config.header_timeout_secs,
        ctx.config.connections_per_address,
    );
    let public_tls = ctx.config.tls(false);
    let internal_tls = ctx.config.tls(true);
    let public = public_app(ctx.clone(), m.clone());
    let internal = internal_app(ctx, m);
    let (tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let limits = conn::Limits {
        header_timeout: std::time::Duration::from_secs(ctx_limits.0),
        per_address: ctx_limits.1,
    };
    let p = run_listener(listeners.public, public, public_tls, limits, tx.subscribe());
    let i = run_listener(
        listeners.internal,
        internal,
        internal_tls,
        limits,
        tx.subscribe(),
    );
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(());
    });
    let (a, b) = tokio::join!(p, i);
    refresher.abort();
    worker.abort();
    a.map_err(|e| format!("public listener failed: {e}"))?;
    b.map_err(|e| format!("internal listener failed: {e}"))?;
    Ok(())
}

/// Background work of every node: the hotline's escalations and default ratings, the
/// analysis of new messages for topics and warnings, the dashboards' daily figures, then the
/// outbox deliveries. Each step is safe with several nodes on one database.
pub async fn worker(ctx: Ctx, notifier: tongban_platform::notify::Notifier) {
    // Its writes are transactions of their own on PostgreSQL: a follower's long batch must
    // not hold up the requests' writes committed in groups.
    tongban_platform::db::apart(work(ctx, notifier)).await
}

async fn work(ctx: Ctx, notifier: tongban_platform::notify::Notifier) {
    let every = std::time::Duration::from_millis(ctx.config.worker_interval_ms);
    // The first pass one interval after start, not at once.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tick.tick().await;
        if let Err(e) = tongban_hotline::sweep::run(&ctx, ctx.today()).await {
            tracing::warn!(error = %e, "hotline sweep failed");
        }
        if let Err(e) = tongban_platform::audit::settle(&ctx.db).await {
            tracing::warn!(error = %e, "audit entries not chained yet");
        }
        if let Err(e) = tongban_insight::visits::flush(&ctx).await {
            tracing::warn!(error = %e, "visit counts not written");
        }
        if let Err(e) = tongban_exchange::checks::flush(&ctx).await {
            tracing::warn!(error = %e, "certificate check counts not written");
        }
        if let Err(e) = tongban_opendata::usage::flush(&ctx).await {
            tracing::warn!(error = %e, "open data use counts not written");
        }
        if let Err(e) = tongban_portal::visits::flush(&ctx).await {
            tracing::warn!(error = %e, "site visit counts not written");
        }
        if let Err(e) = tongban_portal::tick(&ctx).await {
            tracing::warn!(error = %e, "website group pass failed");
        }
        if let Err(e) = tongban_portal::search::catch_up(&ctx).await {
            tracing::warn!(error = %e, "search index not brought up to date");
        }
        if ctx.config.open_data_builtins {
            if let Err(e) = tongban_opendata::live::refresh(&ctx).await {
                tracing::warn!(error = %e, "built-in open datasets not refreshed");
            }
        }
        if let Err(e) = tongban_insight::index::retry(&ctx).await {
            tracing::warn!(error = %e, "insight retry of quarantined rows failed");
        }
        if let Err(e) = tongban_insight::index::catch_up_paced(&ctx).await {
            tracing::warn!(error = %e, "insight indexing failed");
        }
        if let Err(e) = tongban_insight::facts::catch_up_paced(&ctx).await {
            tracing::warn!(error = %e, "dashboard figures not updated");
        }
        let now = tongban_platform::time::now_millis();
        if let Err(e) = ctx
            .db
            .write(move |c| tongban_platform::outbox::requeue_marked(c, now))
            .await
        {
            tracing::warn!(error = %e, "outbox retry of quarantined events failed");
        }
        loop {
            match notifier.run_once(&ctx.db).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbox delivery failed");
                    break;
                }
            }
        }
    }
}

/// Serve one listener, over TLS (rustls) when a certificate and key are configured, until
/// the shutdown signal; requests in flight are finished. Connections are bounded (see
/// [`conn`]).
async fn run_listener(
    listener: TcpListener,
    app: Router,
    tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    limits: conn::Limits,
    stop: tokio::sync::broadcast::Receiver<()>,
) -> Result<(), String> {
    match tls {
        None => conn::serve(listener, app, None, limits, stop).await,
        Some((cert, key)) => {
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| {
                    format!(
                        "cannot load TLS certificate {} / key {}: {e}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let app = app.layer(axum::Extension(tongban_web::page::OverTls));
            // The listener speaks HTTP/1.1 (see `conn`): offer only that in ALPN.
            let mut tls = (*config.get_inner()).clone();
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
            conn::serve(listener, app, Some(std::sync::Arc::new(tls)), limits, stop).await
        }
    }
}
