//! The citizen home page, composed from the rooms: search, life events, the most used
//! matters, departments, and holiday notices from the working-day calendar.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tongban_catalog::routes::MatterSummary;
use tongban_platform::Ctx;
use tongban_web::Page;

#[derive(Serialize)]
struct LifeEvent {
    key: &'static str,
    icon: &'static str,
    query: &'static str,
}

/// Life events (人生大事) and the catalogue keyword that gathers their matters.
const LIFE_EVENTS: [LifeEvent; 8] = [
    LifeEvent {
        key: "birth",
        icon: "育",
        query: "生育",
    },
    LifeEvent {
        key: "school",
        icon: "学",
        query: "入学",
    },
    LifeEvent {
        key: "employment",
        icon: "业",
        query: "就业",
    },
    LifeEvent {
        key: "marriage",
        icon: "婚",
        query: "婚",
    },
    LifeEvent {
        key: "housing",
        icon: "房",
        query: "住房",
    },
    LifeEvent {
        key: "business",
        icon: "企",
        query: "设立登记",
    },
    LifeEvent {
        key: "retirement",
        icon: "退",
        query: "退休",
    },
    LifeEvent {
        key: "medical",
        icon: "医",
        query: "医疗",
    },
];

/// Counting cases per matter scans the table, so the answer is kept for a few minutes.
static POPULAR: Mutex<Option<(Instant, Vec<String>)>> = Mutex::new(None);
const POPULAR_TTL: Duration = Duration::from_secs(300);

async fn popular_codes(ctx: &Ctx) -> Vec<String> {
    if let Ok(guard) = POPULAR.lock() {
        if let Some((at, codes)) = guard.as_ref() {
            if at.elapsed() < POPULAR_TTL {
                return codes.clone();
            }
        }
    }
    let codes = ctx
        .db
        .read(|c| tongban_cases::store::popular_matters(c, 8))
        .await
        .unwrap_or_default();
    if let Ok(mut guard) = POPULAR.lock() {
        *guard = Some((Instant::now(), codes.clone()));
    }
    codes
}

pub async fn home(State(ctx): State<Ctx>, page: Page, headers: axum::http::HeaderMap) -> Response {
    // A site with a host name of its own is served at that host's `/`.
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if let Some(code) = tongban_portal::sites::by_host(&ctx.db, host) {
        return tongban_portal::pages::site_home(&ctx, &page, &code).await;
    }
    let codes = popular_codes(&ctx).await;
    let res = ctx
        .db
        .read(move |c| {
            let all = tongban_catalog::store::list(
                c,
                &tongban_catalog::store::Filter {
                    limit: 200,
                    ..Default::default()
                },
            )?
            .0;
            let departments = tongban_catalog::store::departments_with_matters(c)?;
            Ok((all, departments))
        })
        .await;
    let (all, departments) = match res {
        Ok(x) => x,
        Err(e) => return page.error(&e.into()),
    };
    // The most applied-for first, then the catalogue's own order to fill eight places.
    let mut popular: Vec<MatterSummary> = Vec::new();
    for code in &codes {
        if let Some(m) = all.iter().find(|m| &m.code == code) {
            popular.push(MatterSummary::from(m.clone()));
        }
    }
    for m in &all {
        if popular.len() >= 8 {
            break;
        }
        if !popular.iter().any(|p| p.code == m.code) && m.online_depth == 4 {
            popular.push(MatterSummary::from(m.clone()));
        }
    }
    let notices: Vec<serde_json::Value> = ctx
        .calendar()
        .upcoming_holidays(ctx.today(), 60)
        .into_iter()
        .map(|h| {
            serde_json::json!({
                "name": h.name, "from": h.from.to_string(), "to": h.to.to_string(),
                "makeup": h.makeup.iter().map(|d| d.format("%m-%d").to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    page.ok(
        "home.html",
        context! { life_events => LIFE_EVENTS, popular, departments, notices },
    )
}
