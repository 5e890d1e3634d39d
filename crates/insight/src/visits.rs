//! Page views and visitors, counted by the platform itself for the evaluation's figures:
//! counted in memory per request and written by the worker; a visitor is a keyed SM3 digest
//! of the day, the address and the browser, so no address is stored and days cannot be linked.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use tongban_platform::db::DbError;
use tongban_platform::{params, Ctx};

#[derive(Default)]
struct Pending {
    views: HashMap<(String, &'static str), i64>,
    visitors: HashSet<(String, String, &'static str)>,
}

/// Per database (a process may serve several in tests), what is not yet written.
static PENDING: Mutex<Option<HashMap<String, Pending>>> = Mutex::new(None);

/// Record a day's page views from history (the demo city, or counts carried over from the
/// city's former site); a day already counted is kept.
pub fn record_history(
    c: &mut dyn tongban_platform::db::Conn,
    day: &str,
    device: &str,
    n: i64,
) -> Result<(), DbError> {
    c.execute(
        "INSERT INTO insight_visits (day, device, n) VALUES ($1, $2, $3) ON CONFLICT (day, device) DO NOTHING",
        params![day, device, n],
    )?;
    Ok(())
}

/// Count one page view of the site whose database is `db`.
pub fn record(db: &str, day: String, address: &str, user_agent: &str) {
    let dev = tongban_platform::http::device(user_agent);
    let visitor = match tongban_platform::vault::keys() {
        Ok(k) => k.blind("visitor", &format!("{day}|{address}|{user_agent}")),
        Err(_) => return,
    };
    let mut guard = match PENDING.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let p = guard
        .get_or_insert_with(HashMap::new)
        .entry(db.to_owned())
        .or_default();
    *p.views.entry((day.clone(), dev)).or_insert(0) += 1;
    if p.visitors.len() < 1_000_000 {
        p.visitors.insert((day, visitor, dev));
    }
}

/// Write the counted views and visitors; and note that this node is serving this minute.
pub async fn flush(ctx: &Ctx) -> Result<(), DbError> {
    let taken = {
        let mut guard = match PENDING.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard
            .as_mut()
            .and_then(|m| m.remove(&ctx.config.database_url))
            .unwrap_or_default()
    };
    let minute = tongban_platform::time::now_millis() / 60_000;
    ctx.db
        .write(move |c| {
            for ((day, dev), n) in taken.views {
                c.execute(
                    "INSERT INTO insight_visits (day, device, n) VALUES ($1, $2, $3)
                     ON CONFLICT (day, device) DO UPDATE SET n = insight_visits.n + excluded.n",
                    params![day, dev, n],
                )?;
            }
            for (day, visitor, dev) in taken.visitors {
                c.execute(
                    "INSERT INTO insight_visitors (day, visitor, device) VALUES ($1, $2, $3) ON CONFLICT (day, visitor) DO NOTHING",
                    params![day, visitor, dev],
                )?;
            }
            c.execute(
                "INSERT INTO insight_uptime (minute) VALUES ($1) ON CONFLICT (minute) DO NOTHING",
                params![minute],
            )?;
            Ok(())
        })
        .await
}
