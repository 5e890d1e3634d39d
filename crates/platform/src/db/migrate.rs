//! Numbered SQL migrations, one list per room, one SQL text per engine. Applied in order,
//! each once, recorded in `schema_migrations`; on PostgreSQL an advisory lock keeps two
//! nodes starting together from applying the same migration twice.

use super::{Conn, DbError, Engine};

/// A migration from the calling crate's `migrations/{sqlite,postgres}/FILE.sql`:
/// `migration!("cases", 1, "0001_cases")`.
#[macro_export]
macro_rules! migration {
    ($component:literal, $version:literal, $file:literal) => {
        $crate::db::Migration {
            component: $component,
            version: $version,
            name: $file,
            sqlite: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/sqlite/",
                $file,
                ".sql"
            )),
            postgres: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/postgres/",
                $file,
                ".sql"
            )),
        }
    };
}

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The room that owns the tables, e.g. `cases`.
    pub component: &'static str,
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

pub(crate) fn apply(c: &mut dyn Conn, list: &[Migration]) -> Result<usize, DbError> {
    if c.engine() == Engine::Postgres {
        c.execute("SELECT pg_advisory_xact_lock(727172)", &[])?;
    }
    c.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            component TEXT NOT NULL,
            version BIGINT NOT NULL,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL,
            PRIMARY KEY (component, version))",
    )?;
    let mut applied = 0;
    for m in list {
        let done = c.query_opt(
            "SELECT version FROM schema_migrations WHERE component = $1 AND version = $2",
            crate::params![m.component, m.version],
        )?;
        if done.is_some() {
            continue;
        }
        let sql = match c.engine() {
            Engine::Sqlite => m.sqlite,
            Engine::Postgres => m.postgres,
        };
        c.batch(sql).map_err(|e| {
            DbError::Engine(format!(
                "migration {}/{} {}: {e}",
                m.component, m.version, m.name
            ))
        })?;
        c.execute(
            "INSERT INTO schema_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)",
            crate::params![m.component, m.version, m.name, crate::time::now_millis()],
        )?;
        applied += 1;
    }
    Ok(applied)
}
