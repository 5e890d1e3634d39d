//! The room's figures for the others (the evaluation, the data board): how much is open and
//! how much it is used.

use std::collections::BTreeSet;
use tongban_platform::db::{Conn, DbError};

/// Open data over a period.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Period {
    /// Datasets published now.
    pub datasets: i64,
    /// Departments publishing at least one.
    pub departments: BTreeSet<String>,
    /// Downloads of files and tables in the period.
    pub downloads: i64,
    /// API calls in the period.
    pub api_calls: i64,
}

/// The figures for days `from` to `to` (YYYY-MM-DD, `to` not included).
pub fn period(c: &mut dyn Conn, from: &str, to: &str) -> Result<Period, DbError> {
    let mut p = Period::default();
    for r in c.query(
        "SELECT department_code AS d, COUNT(*) AS n FROM od_datasets WHERE state = 'active'
         GROUP BY department_code",
        &[],
    )? {
        p.datasets += r.get_i64("n")?;
        p.departments.insert(r.get_str("d")?);
    }
    let r = c.query_one(
        "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'download' THEN n ELSE 0 END), 0) AS BIGINT) AS d,
                CAST(COALESCE(SUM(CASE WHEN kind = 'api' THEN n ELSE 0 END), 0) AS BIGINT) AS a
         FROM od_usage WHERE day >= $1 AND day < $2",
        tongban_platform::params![from, to],
    )?;
    p.downloads = r.get_i64("d")?;
    p.api_calls = r.get_i64("a")?;
    Ok(p)
}
