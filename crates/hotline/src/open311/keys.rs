//! Partner keys for Open311: issued once to a named partner by a supervisor (only their
//! SM3 digest is kept), listed page by page, revoked; a request carrying a live key is
//! that partner's.

use super::*;

/// The partner a key belongs to, or 403.
pub async fn partner(ctx: &Ctx, key: Option<&str>) -> Result<i64, Error311> {
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
