//! The catalogue's door for figures: what other rooms (cases, insight's evaluation) need to
//! know about the published matters, without naming the `matters` table.

use std::collections::{BTreeSet, HashMap};
use tongban_platform::db::{Conn, DbError, Value};

/// The working days each matter promises, for the codes given (unknown codes are left out).
pub fn promised_days(c: &mut dyn Conn, codes: &[String]) -> Result<HashMap<String, i64>, DbError> {
    let mut out = HashMap::new();
    // Bounded statements: a day with many matters is read a few hundred codes at a time.
    for chunk in codes.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let args: Vec<Value> = chunk.iter().map(Value::from).collect();
        for r in c.query(
            &format!(
                "SELECT code, promised_days FROM matters WHERE code IN ({})",
                marks.join(", ")
            ),
            &args,
        )? {
            out.insert(r.get_str("code")?, r.get_i64("promised_days")?);
        }
    }
    Ok(out)
}

/// Matters in the catalogue, published or not.
pub fn matter_count(c: &mut dyn Conn) -> Result<i64, DbError> {
    c.query_one("SELECT COUNT(*) AS n FROM matters", &[])?
        .get_i64("n")
}

/// How the published part of the catalogue stands now.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Matters published.
    pub published: i64,
    /// Published with a legal basis, conditions, a fee and a promised time.
    pub complete: i64,
    /// Published and fully online (depth 4 or more).
    pub fully_online: i64,
    /// Published and needing at most one visit.
    pub at_most_one_visit: i64,
    /// Departments with at least one published matter.
    pub departments: BTreeSet<String>,
}

pub fn counts(c: &mut dyn Conn) -> Result<Counts, DbError> {
    let r = c.query_one(
        "SELECT COUNT(*) AS n,
            SUM(CASE WHEN legal_basis <> '' AND conditions <> '' AND fee <> '' AND promised_days > 0 THEN 1 ELSE 0 END) AS complete,
            SUM(CASE WHEN online_depth >= 4 THEN 1 ELSE 0 END) AS full,
            SUM(CASE WHEN max_visits <= 1 THEN 1 ELSE 0 END) AS one
         FROM matters WHERE published",
        &[],
    )?;
    let mut out = Counts {
        published: r.get_i64("n")?,
        complete: r.get_opt_i64("complete")?.unwrap_or(0),
        fully_online: r.get_opt_i64("full")?.unwrap_or(0),
        at_most_one_visit: r.get_opt_i64("one")?.unwrap_or(0),
        departments: BTreeSet::new(),
    };
    for r in c.query(
        "SELECT DISTINCT department_code AS d FROM matters WHERE published",
        &[],
    )? {
        out.departments.insert(r.get_str("d")?);
    }
    Ok(out)
}

/// A published matter's public facts (the open data catalogue of matters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedMatter {
    pub code: String,
    pub name: String,
    pub department: String,
    pub kind: String,
    pub legal_days: i64,
    pub promised_days: i64,
    pub fee: String,
    pub online_depth: i64,
    pub max_visits: i64,
}

/// Every published matter, in catalogue order.
pub fn published_matters(c: &mut dyn Conn) -> Result<Vec<PublishedMatter>, DbError> {
    Ok(crate::store::all(c)?
        .into_iter()
        .filter(|m| m.published)
        .map(|m| PublishedMatter {
            code: m.code,
            name: m.name,
            department: m.department.name,
            kind: m.kind,
            legal_days: m.legal_days.into(),
            promised_days: m.promised_days.into(),
            fee: m.fee,
            online_depth: m.online_depth.into(),
            max_visits: m.max_visits.into(),
        })
        .collect())
}
