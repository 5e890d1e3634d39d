//! Partner keys for Open311: issued once to a named partner by a supervisor (only their
//! SM3 digest is kept), listed page by page, revoked; a request carrying a live key is
//! that partner's.

use super::*;

/// The partner of a call: by its Open311 key, or by an OAuth 2.0 access token (client
/// credentials) granted the `open311` scope, held to the app's rate. Else 401/403/429.
pub async fn partner(ctx: &Ctx, key: Option<&str>, bearer: Option<&str>) -> Result<i64, Error311> {
    if let Some(token) = bearer.filter(|t| !t.is_empty()) {
        use tongban_identity::partners::{authorize, Refused};
        return match authorize(ctx, token, "open311").await {
            Ok(p) => {
                let now = tongban_platform::time::now_millis();
                Ok(ctx
                    .db
                    .write(move |c| for_client(c, &p.client_id, &p.name, now))
                    .await?)
            }
            Err(Refused::Token) => Err(Error311::new(
                StatusCode::UNAUTHORIZED,
                "the access token is not valid (unknown, expired or revoked)",
            )),
            Err(Refused::Scope) => Err(Error311::new(
                StatusCode::FORBIDDEN,
                "the access token was not granted the open311 scope",
            )),
            Err(Refused::Db(e)) => Err(e.into()),
            Err(Refused::Limited(wait)) => Err(Error311::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "this app has used its calls for the minute; try again in {} s",
                    (wait + 999) / 1000
                ),
            )),
        };
    }
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(Error311::new(
            StatusCode::FORBIDDEN,
            "api_key is required to create a request",
        ));
    };
    let h = crypto::sm3_hex(key.as_bytes());
    ctx.db
        .read(move |c| {
            c.query_opt(
                "SELECT id FROM api_keys WHERE key_hash = $1 AND NOT revoked",
                params![h],
            )?
            .map(|r| r.get_i64("id"))
            .transpose()
        })
        .await?
        .ok_or_else(|| Error311::new(StatusCode::FORBIDDEN, "api_key is not valid"))
}

/// The partner row of an OAuth client (made on its first call), so its requests are its own
/// as a keyed partner's are.
pub fn for_client(c: &mut dyn Conn, client_id: &str, name: &str, now: i64) -> Result<i64, DbError> {
    let find = |c: &mut dyn Conn| {
        c.query_opt(
            "SELECT id FROM api_keys WHERE oauth_client = $1",
            params![client_id],
        )?
        .map(|r| r.get_i64("id"))
        .transpose()
    };
    if let Some(id) = find(c)? {
        return Ok(id);
    }
    c.execute(
        "INSERT INTO api_keys (name, key_hash, created_at, oauth_client) VALUES ($1, $2, $3, $4)
         ON CONFLICT (oauth_client) DO NOTHING",
        params![
            name,
            crypto::sm3_hex(format!("oauth-client:{client_id}").as_bytes()),
            now,
            client_id
        ],
    )?;
    find(c)?.ok_or_else(|| DbError::Decode("partner row vanished".into()))
}

/// Issue a key for a partner application; the key is shown once.
pub fn add_key(c: &mut dyn Conn, name: &str, now: i64) -> Result<String, DbError> {
    let key = crypto::random_token();
    c.execute(
        "INSERT INTO api_keys (name, key_hash, created_at) VALUES ($1, $2, $3)",
        params![name, crypto::sm3_hex(key.as_bytes()), now],
    )?;
    Ok(key)
}

/// Issue a key for a partner application on behalf of a staff member (audited); the key is
/// returned once.
pub async fn issue_key(
    ctx: &Ctx,
    staff: &tongban_platform::identity::Staff,
    name: &str,
) -> Result<String, ApiError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::unprocessable(
            "invalid_name",
            "name the partner application (1-100 characters)",
        ));
    }
    let staff = staff.clone();
    let source = tongban_platform::audit::current_source();
    Ok(ctx
        .db
        .write(move |c| {
            let key = add_key(c, &name, tongban_platform::time::now_millis())?;
            let mut e = tongban_platform::audit::Entry::staff(&staff, "apikey.add", &name, "ok");
            e.source = source;
            tongban_platform::audit::append(c, &e)?;
            Ok(key)
        })
        .await?)
}

/// An issued partner key as supervisors see it (the key itself is not kept).
#[derive(Debug, serde::Serialize)]
pub struct IssuedKey {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub revoked: bool,
}

/// Issued keys, the newest first, one page at a time, with the total.
pub fn list_keys(
    c: &mut dyn Conn,
    limit: i64,
    offset: i64,
) -> Result<(Vec<IssuedKey>, i64), DbError> {
    let total = c
        .query_one("SELECT COUNT(*) AS n FROM api_keys", &[])?
        .get_i64("n")?;
    let items = c
        .query(
            "SELECT id, name, created_at, revoked FROM api_keys ORDER BY id DESC LIMIT $1 OFFSET $2",
            params![limit, offset],
        )?
        .iter()
        .map(|r| {
            Ok(IssuedKey {
                id: r.get_i64("id")?,
                name: r.get_str("name")?,
                created_at: r.get_i64("created_at")?,
                revoked: r.get_bool("revoked")?,
            })
        })
        .collect::<Result<_, DbError>>()?;
    Ok((items, total))
}

/// Revoke a key; false when there is no such key.
pub fn revoke_key(c: &mut dyn Conn, id: i64) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE api_keys SET revoked = TRUE WHERE id = $1",
        params![id],
    )? > 0)
}
