//! Prometheus metrics kept by this node: request counts and latency histograms per listener,
//! method, route and status. Each node is scraped on its own internal listener.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tongban_platform::{ApiError, Ctx};

const BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// listener, method, route, status.
type Key = (&'static str, String, String, u16);

#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<BTreeMap<Key, Series>>>,
}

impl Metrics {
    fn observe(
        &self,
        listener: &'static str,
        method: String,
        route: String,
        status: u16,
        secs: f64,
    ) {
        let Ok(mut map) = self.inner.lock() else {
            return;
        };
        let s = map.entry((listener, method, route, status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    /// The metrics in Prometheus text format, with extra gauge lines appended.
    pub fn render(&self, cases_by_status: &[(String, i64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP tongban_http_requests_total HTTP requests answered.\n# TYPE tongban_http_requests_total counter\n");
        let map = match self.inner.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        for ((l, m, r, st), s) in map.iter() {
            let _ = writeln!(out, "tongban_http_requests_total{{listener=\"{l}\",method=\"{m}\",route=\"{}\",status=\"{st}\"}} {}", esc(r), s.count);
        }
        out.push_str("# HELP tongban_http_request_duration_seconds Time to answer HTTP requests.\n# TYPE tongban_http_request_duration_seconds histogram\n");
        // Aggregate over status for the histogram.
        let mut agg: BTreeMap<(&str, &str, &str), Series> = BTreeMap::new();
        for ((l, m, r, _), s) in map.iter() {
            let a = agg.entry((l, m.as_str(), r.as_str())).or_default();
            a.count += s.count;
            a.sum += s.sum;
            for i in 0..BUCKETS.len() {
                a.buckets[i] += s.buckets[i];
            }
        }
        for ((l, m, r), s) in agg {
            let labels = format!("listener=\"{l}\",method=\"{m}\",route=\"{}\"", esc(r));
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "tongban_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "tongban_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "tongban_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "tongban_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        out.push_str("# HELP tongban_cases Cases stored, by status.\n# TYPE tongban_cases gauge\n");
        for (status, n) in cases_by_status {
            let _ = writeln!(out, "tongban_cases{{status=\"{}\"}} {n}", esc(status));
        }
        out
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[derive(Clone)]
pub struct Tag {
    pub metrics: Metrics,
    pub listener: &'static str,
}

pub async fn track(State(tag): State<Tag>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    tag.metrics.observe(
        tag.listener,
        method,
        route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// What `/metrics` reads: the node's counters and the database's gauges.
#[derive(Clone)]
pub(crate) struct InternalState {
    pub(crate) ctx: Ctx,
    pub(crate) metrics: Metrics,
}

/// `GET /metrics` on the internal listener.
pub(crate) async fn text(State(s): State<InternalState>) -> Result<impl IntoResponse, ApiError> {
    let counts = tongban_cases::service::counts_by_status(&s.ctx).await?;
    let now = tongban_platform::time::now_millis();
    let (pending, abandoned, quarantined, lags, outcomes) = s
        .ctx
        .db
        .read(move |c| {
            let (p, a) = tongban_platform::outbox::counts(c, now)?;
            let q = tongban_platform::followers::counts(c)?;
            let lags = vec![
                (
                    tongban_insight::index::FOLLOWER,
                    tongban_insight::index::lag_seconds(c)?,
                ),
                (
                    tongban_insight::facts::FOLLOWER,
                    tongban_insight::facts::lag_seconds(c)?,
                ),
                (
                    tongban_platform::outbox::FOLLOWER,
                    tongban_platform::outbox::lag_seconds(c, now)?,
                ),
            ];
            Ok((p, a, q, lags, tongban_platform::outbox::outcomes(c)?))
        })
        .await?;
    let mut text = s.metrics.render(&counts);
    text.push_str(&format!(
        "# HELP tongban_outbox_pending Notifications waiting for delivery.\n# TYPE tongban_outbox_pending gauge\ntongban_outbox_pending {pending}\n\
         # HELP tongban_outbox_abandoned Notifications whose worker stopped mid-delivery (not resent, to send at most once).\n# TYPE tongban_outbox_abandoned gauge\ntongban_outbox_abandoned {abandoned}\n"
    ));
    text.push_str("# HELP tongban_notifications Notifications by kind (email, sms) and outcome: delivered, retrying (failed, to be tried again with backoff), given_up (refused by the gateway, or failing too often).\n# TYPE tongban_notifications gauge\n");
    for (kind, [delivered, retrying, given_up, _]) in &outcomes {
        for (state, n) in [
            ("delivered", delivered),
            ("retrying", retrying),
            ("given_up", given_up),
        ] {
            text.push_str(&format!(
                "tongban_notifications{{kind=\"{kind}\",state=\"{state}\"}} {n}\n"
            ));
        }
    }
    text.push_str("# HELP tongban_notification_failures Failed delivery tries by kind (each retried or given up).\n# TYPE tongban_notification_failures gauge\n");
    for (kind, [.., failures]) in &outcomes {
        text.push_str(&format!(
            "tongban_notification_failures{{kind=\"{kind}\"}} {failures}\n"
        ));
    }
    text.push_str("# HELP tongban_follower_quarantined Rows a background follower set aside because it could not process them (listed on /console/followers).\n# TYPE tongban_follower_quarantined gauge\n");
    for f in [
        tongban_insight::index::FOLLOWER,
        tongban_insight::facts::FOLLOWER,
        tongban_platform::outbox::FOLLOWER,
    ] {
        let n = quarantined
            .iter()
            .find(|(name, _)| name == f)
            .map_or(0, |(_, n)| *n);
        text.push_str(&format!(
            "tongban_follower_quarantined{{follower=\"{f}\"}} {n}\n"
        ));
    }
    text.push_str("# HELP tongban_follower_lag_seconds How long the oldest row a follower has not processed yet has waited.\n# TYPE tongban_follower_lag_seconds gauge\n");
    for (f, lag) in lags {
        text.push_str(&format!(
            "tongban_follower_lag_seconds{{follower=\"{f}\"}} {lag}\n"
        ));
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    ))
}
