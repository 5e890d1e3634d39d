//! Service definitions in the database.

use crate::model::Service;
use tongban_platform::db::{Conn, DbError, Row, Value};
use tongban_platform::params;

const COLUMNS: &str =
    "provider, code, version, name, description, request_schema, response_schema, \
                       sharing, backend, registry, rest_url, timeout_ms";

fn service_of(r: &Row) -> Result<Service, DbError> {
    let json = |k: &str| -> Result<serde_json::Value, DbError> {
        serde_json::from_str(&r.get_str(k)?).map_err(|e| DbError::Decode(format!("{k}: {e}")))
    };
    Ok(Service {
        provider: r.get_str("provider")?,
        code: r.get_str("code")?,
        version: r.get_str("version")?,
        name: r.get_str("name")?,
        description: r.get_str("description")?,
        request_schema: json("request_schema")?,
        response_schema: json("response_schema")?,
        sharing: r.get_str("sharing")?,
        backend: r.get_str("backend")?,
        registry: r.get_opt_str("registry")?,
        rest_url: r.get_opt_str("rest_url")?,
        timeout_ms: r.get_i64("timeout_ms")?,
    })
}

/// Register or change a service; whether it was new.
pub fn save(c: &mut dyn Conn, s: &Service, now: i64) -> Result<bool, DbError> {
    let existed = get(c, &s.provider, &s.code)?.is_some();
    c.execute(
        &format!(
            "INSERT INTO exchange_services ({COLUMNS}, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
             ON CONFLICT (provider, code) DO UPDATE SET version = excluded.version,
               name = excluded.name, description = excluded.description,
               request_schema = excluded.request_schema, response_schema = excluded.response_schema,
               sharing = excluded.sharing, backend = excluded.backend, registry = excluded.registry,
               rest_url = excluded.rest_url, timeout_ms = excluded.timeout_ms,
               updated_at = excluded.updated_at"
        ),
        params![
            s.provider.as_str(),
            s.code.as_str(),
            s.version.as_str(),
            s.name.as_str(),
            s.description.as_str(),
            s.request_schema.to_string(),
            s.response_schema.to_string(),
            s.sharing.as_str(),
            s.backend.as_str(),
            s.registry.as_deref(),
            s.rest_url.as_deref(),
            s.timeout_ms,
            now
        ],
    )?;
    Ok(!existed)
}

pub fn get(c: &mut dyn Conn, provider: &str, code: &str) -> Result<Option<Service>, DbError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM exchange_services WHERE provider = $1 AND code = $2"),
        params![provider, code],
    )?
    .map(|r| service_of(&r))
    .transpose()
}

/// A page of services (of one provider, when given), and how many there are.
pub fn list(
    c: &mut dyn Conn,
    provider: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Service>, i64), DbError> {
    let (filter, args) = match provider {
        Some(p) => ("WHERE provider = $1", vec![Value::from(p)]),
        None => ("WHERE 1 = 1", Vec::new()),
    };
    let n = args.len();
    let total = c
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM exchange_services {filter}"),
            &args,
        )?
        .get_i64("n")?;
    let mut page_args = args;
    page_args.push(limit.into());
    page_args.push(offset.into());
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM exchange_services {filter} ORDER BY provider, code LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        &page_args,
    )?;
    Ok((
        rows.iter().map(service_of).collect::<Result<_, _>>()?,
        total,
    ))
}

/// How many services there are (for the data-centre figures).
pub fn count(c: &mut dyn Conn) -> Result<i64, DbError> {
    c.query_one("SELECT COUNT(*) AS n FROM exchange_services", &[])?
        .get_i64("n")
}
