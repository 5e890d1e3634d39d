//! The citizen's own view of the apps they let sign them in (`/account/apps`): each app, what
//! it may know, since when; "stop" forgets the consent and revokes every token the app holds
//! for them, so the app must ask again.

use crate::grants;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use serde::Serialize;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;
use tongban_platform::Ctx;
use tongban_web::{CitizenPage, NoFields, SafeForm};

pub const PATHS: [&str; 2] = ["/account/apps", "/account/apps/{client_id}/revoke"];

pub fn public_router() -> Router<Ctx> {
    let [list_path, revoke_path] = PATHS;
    Router::new()
        .route(list_path, get(list))
        .route(revoke_path, post(revoke))
}

#[derive(Serialize)]
struct Allowed {
    client_id: String,
    name: String,
    scopes: Vec<String>,
    /// The day it was allowed, in the city's zone.
    granted_on: String,
}

fn allowed(
    c: &mut dyn Conn,
    account_id: i64,
    tz: tongban_platform::time::Tz,
) -> Result<Vec<Allowed>, DbError> {
    let rows = c.query(
        "SELECT client_id, scope, granted_at FROM oidc_consents WHERE account_id = $1 ORDER BY granted_at DESC",
        params![account_id],
    )?;
    let mut out = Vec::new();
    for r in rows {
        let client_id = r.get_str("client_id")?;
        let name = crate::clients::get(c, &client_id)?
            .map(|k| k.name)
            .unwrap_or_else(|| client_id.clone());
        out.push(Allowed {
            client_id,
            name,
            scopes: r
                .get_str("scope")?
                .split(' ')
                .filter(|s| !s.is_empty() && *s != "openid")
                .map(str::to_owned)
                .collect(),
            granted_on: tongban_platform::time::date_of(r.get_i64("granted_at")?, tz).to_string(),
        });
    }
    Ok(out)
}

async fn list(State(ctx): State<Ctx>, CitizenPage(page, id): CitizenPage) -> Response {
    let tz = ctx.tz;
    match ctx.db.read(move |c| allowed(c, id, tz)).await {
        Ok(apps) => page.ok("account_apps.html", context! { apps }),
        Err(e) => page.error(&e.into()),
    }
}

async fn revoke(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    Path(client_id): Path<String>,
    SafeForm(NoFields {}): SafeForm<NoFields>,
) -> Response {
    let now = tongban_platform::time::now_millis();
    let tz = ctx.tz;
    let res = ctx
        .db
        .write(move |c| {
            grants::forget(c, id, &client_id, now)?;
            let e = tongban_platform::audit::Entry::citizen(id, "oidc.revoke", &client_id, "ok");
            tongban_platform::audit::append(c, &e)?;
            allowed(c, id, tz)
        })
        .await;
    match res {
        Ok(apps) => page.ok("account_apps.html", context! { apps, revoked => true }),
        Err(e) => page.error(&e.into()),
    }
}
