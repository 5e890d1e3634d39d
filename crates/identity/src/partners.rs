//! Partner apps (the seed's 接驳社会企业) calling APIs as themselves: an access token from
//! the client-credentials grant, checked for its scope and held to the app's own rate (calls
//! a minute, counted in the database so every node shares it). Other rooms ask here, through
//! [`authorize`], before they serve a partner; they never read this room's tables.

use crate::grants;
use tongban_platform::db::DbError;
use tongban_platform::Ctx;

/// The app a token speaks for.
#[derive(Debug, Clone)]
pub struct Partner {
    pub client_id: String,
    pub name: String,
}

/// Why a partner's call is refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the access token is unknown, expired or revoked")]
    Token,
    #[error("the access token was not granted this scope")]
    Scope,
    /// Over the app's rate: wait this many milliseconds.
    #[error("over the app's rate")]
    Limited(i64),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Check a partner's bearer `token` for `scope` and count the call against its rate.
pub async fn authorize(ctx: &Ctx, token: &str, scope: &str) -> Result<Partner, Refused> {
    let (token, scope) = (token.to_owned(), scope.to_owned());
    let now = tongban_platform::time::now_millis();
    ctx.db
        .transact(move |c| {
            let Some((client_id, granted)) = grants::client_access(c, &token, now)? else {
                return Err(Refused::Token);
            };
            let Some(client) = crate::clients::get(c, &client_id)?.filter(|k| !k.disabled) else {
                return Err(Refused::Token);
            };
            if !crate::claims::has(&granted, &scope) {
                return Err(Refused::Scope);
            }
            let key = format!("rate:client:{client_id}");
            if let Some(wait) =
                tongban_platform::throttle::hit(c, &key, client.rate_per_minute, 60_000, now)?
            {
                return Err(Refused::Limited(wait));
            }
            Ok(Partner {
                client_id,
                name: client.name,
            })
        })
        .await
}
