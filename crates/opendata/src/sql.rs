//! CKAN's `datastore_search_sql`: one read-only `SELECT` (PostgreSQL's syntax, as CKAN's)
//! over DataStore tables the caller may see, and nothing else: the statement is parsed, every
//! table it names must be a visible resource's table (or a name its own `WITH` made), every
//! function it calls must be on a short list of plain ones, every cast must be to a plain
//! type; the parsed statement (not the text sent) runs in a read-only snapshot with a time
//! limit, and at most `ROWS_MAX` records come back (`records_truncated` beyond).

use crate::ckan::Caller;
use crate::datastore::{self, ROWS_MAX};
use crate::ds_actions::table_of;
use crate::error::{invalid, OdError};
use crate::upload::Ordered;
use serde_json::{json, Map, Value};
use sqlparser::ast::{
    DataType, Expr, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableFactor, Visit,
    Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::Duration;
use tongban_platform::db::{Conn, DbError, Engine, Value as Param};
use tongban_platform::params;
use tongban_platform::Ctx;

/// Functions a query may call: aggregates, windows and plain scalar functions found on both
/// engines (or on the one that runs it); nothing that reads files, settings or other tables.
const FUNCTIONS: [&str; 44] = [
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "stddev",
    "variance",
    "string_agg",
    "group_concat",
    "array_agg",
    "row_number",
    "rank",
    "dense_rank",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "lower",
    "upper",
    "length",
    "char_length",
    "abs",
    "round",
    "ceil",
    "ceiling",
    "floor",
    "coalesce",
    "nullif",
    "ifnull",
    "substr",
    "substring",
    "trim",
    "ltrim",
    "rtrim",
    "replace",
    "concat",
    "instr",
    "strftime",
    "date",
    "date_trunc",
    "to_char",
    "greatest",
];

/// Types a value may be cast to.
const CASTS: [&str; 19] = [
    "text",
    "varchar",
    "character varying",
    "char",
    "character",
    "int",
    "integer",
    "bigint",
    "smallint",
    "int4",
    "int8",
    "float",
    "float8",
    "double precision",
    "real",
    "numeric",
    "decimal",
    "date",
    "boolean",
];

fn cast_ok(t: &DataType) -> bool {
    let text = t.to_string().to_lowercase();
    let base = text.split('(').next().unwrap_or("").trim();
    CASTS.contains(&base) || base == "bool" || base.starts_with("timestamp")
}

fn single(name: &ObjectName) -> Option<&str> {
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(ident)] => Some(ident.value.as_str()),
        _ => None,
    }
}

/// What the statement reads, or why it may not run.
#[derive(Default)]
struct Check {
    ctes: BTreeSet<String>,
    tables: BTreeSet<String>,
}

fn body_ok(body: &SetExpr) -> Result<(), String> {
    match body {
        SetExpr::Select(s) if s.into.is_some() => Err("SELECT … INTO is not allowed".into()),
        SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::Values(_) => Ok(()),
        SetExpr::SetOperation { left, right, .. } => body_ok(left).and_then(|_| body_ok(right)),
        _ => Err("only SELECT statements are allowed".into()),
    }
}

impl Visitor for Check {
    type Break = String;

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<String> {
        if !q.locks.is_empty() || q.for_clause.is_some() {
            return ControlFlow::Break("locking clauses (FOR UPDATE …) are not allowed".into());
        }
        if q.settings.is_some() || q.format_clause.is_some() || !q.pipe_operators.is_empty() {
            return ControlFlow::Break("only plain SELECT statements are allowed".into());
        }
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.clone());
            }
        }
        match body_ok(&q.body) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<String> {
        match t {
            TableFactor::Table { name, args, .. } => {
                if args.is_some() {
                    return ControlFlow::Break(format!("{name} is not a table"));
                }
                match single(name) {
                    Some(n) if self.ctes.contains(n) => {}
                    Some(n) => {
                        self.tables.insert(n.to_owned());
                    }
                    None => {
                        return ControlFlow::Break(format!(
                            "{name}: name a DataStore table by its resource id, in double quotes"
                        ))
                    }
                }
                ControlFlow::Continue(())
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => {
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Break("only tables and subqueries may follow FROM".into()),
        }
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<String> {
        match e {
            Expr::Function(f) => match single(&f.name).map(str::to_lowercase) {
                Some(n) if FUNCTIONS.contains(&n.as_str()) || n == "least" => {
                    ControlFlow::Continue(())
                }
                _ => ControlFlow::Break(format!("function {} is not allowed", f.name)),
            },
            Expr::Cast { data_type, .. } if !cast_ok(data_type) => {
                ControlFlow::Break(format!("cast to {data_type} is not allowed"))
            }
            Expr::TypedString(t) if !cast_ok(&t.data_type) => {
                ControlFlow::Break(format!("type {} is not allowed", t.data_type))
            }
            _ => ControlFlow::Continue(()),
        }
    }
}

/// A checked statement: the text to run, the tables it reads and the names its `WITH`s make.
pub struct Checked {
    pub statement: String,
    pub tables: BTreeSet<String>,
    pub ctes: BTreeSet<String>,
}

/// The statement to run and what it reads, or what is wrong with `sql`.
pub fn check(sql: &str) -> Result<Checked, OdError> {
    let bad = |m: String| invalid("sql", m);
    let statements =
        Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| bad(e.to_string()))?;
    let statement = match statements.as_slice() {
        [one] => one,
        [] => return Err(bad("Missing value".into())),
        _ => return Err(bad("only one statement is allowed".into())),
    };
    let Statement::Query(_) = statement else {
        return Err(bad("only SELECT statements are allowed".into()));
    };
    let mut check = Check::default();
    if let ControlFlow::Break(e) = statement.visit(&mut check) {
        return Err(bad(e));
    }
    // A name a WITH made is not a table, wherever it was seen first. (Which of a WITH's
    // name and a table of that name a reference means depends on where it stands; `run`
    // refuses WITH names that any table or view has, so either reading is safe.)
    let tables = check
        .tables
        .into_iter()
        .filter(|t| !check.ctes.contains(t))
        .collect();
    Ok(Checked {
        statement: statement.to_string(),
        tables,
        ctes: check.ctes,
    })
}

/// Whether the database has a table or view (of any schema, in any case) named `name`.
fn relation_exists(c: &mut dyn Conn, name: &str) -> Result<bool, DbError> {
    let lower = name.to_lowercase();
    if lower.starts_with("pg_") || lower.starts_with("sqlite_") {
        return Ok(true);
    }
    let sql = match c.engine() {
        Engine::Sqlite => "SELECT 1 FROM sqlite_schema WHERE lower(name) = $1",
        Engine::Postgres => "SELECT 1 FROM pg_class WHERE lower(relname) = $1",
    };
    Ok(c.query_opt(sql, params![lower])?.is_some())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        _ => "text",
    }
}

/// `datastore_search_sql`.
pub async fn run(ctx: &Ctx, caller: &Caller, p: &Map<String, Value>) -> Result<Value, OdError> {
    let sql = p
        .get("sql")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("sql", "Missing value"))?
        .to_owned();
    let Checked {
        statement,
        tables,
        ctes,
    } = check(&sql)?;
    let caller = Caller {
        publisher: caller.publisher.clone(),
    };
    // The tables must be visible resources' tables: checked in the snapshot that runs it.
    let limit = Duration::from_millis(ctx.config.sql_time_limit_ms);
    let out = ctx
        .db
        .read_within(limit, move |c| {
            for name in &ctes {
                if relation_exists(c, name)? {
                    return Ok(Err(invalid(
                        "sql",
                        format!("WITH {name:?}: a table has that name; choose another"),
                    )));
                }
            }
            for t in &tables {
                let known = match table_of(c, &caller, t) {
                    Ok(_) => true,
                    Err(OdError::Db(e)) => return Err(e),
                    Err(_) => false,
                };
                if !known {
                    return Ok(Err(OdError::Forbidden(format!(
                        "Not authorized to read {t:?}: only DataStore tables (named by their \
                         resource id, in double quotes) may be queried"
                    ))));
                }
            }
            let rows = match c.engine() {
                Engine::Sqlite => c.query(
                    &format!("SELECT * FROM ({statement}) AS _q LIMIT {}", ROWS_MAX + 1),
                    &[],
                )?,
                Engine::Postgres => c.query(
                    &format!(
                        "SELECT row_to_json(_q)::text AS r FROM ({statement}) AS _q LIMIT {}",
                        ROWS_MAX + 1
                    ),
                    &[],
                )?,
            };
            Ok(Ok((c.engine(), statement, rows)))
        })
        .await;
    let (engine, statement, rows) = match out {
        Ok(r) => r?,
        Err(DbError::TimeLimit) => return Err(invalid("sql", "Query took too long")),
        Err(DbError::Engine(e)) => return Err(invalid("sql", e)),
        Err(e) => return Err(e.into()),
    };
    let mut records: Vec<Vec<(String, Value)>> = Vec::with_capacity(rows.len());
    for r in &rows {
        records.push(match engine {
            Engine::Sqlite => r
                .columns()
                .iter()
                .zip(r.values())
                .map(|(k, v)| (k.clone(), datastore::json_of(v)))
                .collect(),
            Engine::Postgres => match r.values().first() {
                Some(Param::Text(t)) => {
                    serde_json::from_str::<Ordered>(t)
                        .map_err(|e| DbError::Decode(e.to_string()))?
                        .0
                }
                _ => Vec::new(),
            },
        });
    }
    let truncated = records.len() as i64 > ROWS_MAX;
    records.truncate(ROWS_MAX as usize);
    let fields: Vec<Value> = match records.first() {
        None => Vec::new(),
        Some(first) => first
            .iter()
            .enumerate()
            .map(|(i, (id, _))| {
                // A column's kind from its values: `float` if any is not whole (PostgreSQL
                // writes a whole float as an integer).
                let kinds: BTreeSet<&str> = records
                    .iter()
                    .filter_map(|r| r.get(i).map(|(_, v)| v))
                    .filter(|v| !v.is_null())
                    .map(kind_of)
                    .collect();
                let kind = match (kinds.len(), kinds.first()) {
                    (0, _) => "text",
                    (1, Some(k)) => k,
                    _ if kinds.iter().all(|k| *k == "int" || *k == "float") => "float",
                    _ => "text",
                };
                json!({"id": id, "type": kind})
            })
            .collect(),
    };
    let records: Vec<Value> = records
        .into_iter()
        .map(|r| Value::Object(r.into_iter().collect()))
        .collect();
    let mut out = json!({"sql": statement, "records": records, "fields": fields});
    if truncated {
        out["records_truncated"] = Value::Bool(true);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::check;

    const T: &str = "\"6f1c2b9e-0000-4000-8000-000000000001\"";

    fn refused(sql: &str) -> String {
        match check(sql) {
            Ok(_) => panic!("{sql} was allowed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn plain_selects_pass_and_name_their_tables() {
        let c = check(&format!(
            "SELECT \"区\", count(*) AS n FROM {T} WHERE \"年\" >= 2024 GROUP BY \"区\" ORDER BY n DESC LIMIT 5"
        ))
        .unwrap();
        assert!(c.statement.starts_with("SELECT"));
        assert!(c.statement.contains(T), "{}", c.statement);
        assert_eq!(
            c.tables.into_iter().collect::<Vec<_>>(),
            vec![T.trim_matches('"')]
        );
        let c = check(&format!(
            "WITH x AS (SELECT * FROM {T}) SELECT a.* FROM x a JOIN (SELECT 1 AS k) b ON true"
        ))
        .unwrap();
        assert_eq!(
            c.tables.len(),
            1,
            "the WITH name is not a table: {:?}",
            c.tables
        );
        assert_eq!(c.ctes.into_iter().collect::<Vec<_>>(), vec!["x"]);
        assert!(check(&format!("SELECT CAST(\"n\" AS numeric(10,2)) FROM {T}")).is_ok());
    }

    #[test]
    fn anything_but_a_plain_select_is_refused() {
        for (sql, why) in [
            ("DELETE FROM od_datasets", "only SELECT"),
            ("SELECT 1; DROP TABLE od_tokens", "only one statement"),
            ("SELECT pg_sleep(10)", "function pg_sleep"),
            (
                "SELECT pg_read_file('/etc/passwd')",
                "function pg_read_file",
            ),
            ("SELECT * FROM generate_series(1, 10)", "not a table"),
            ("SELECT * FROM pg_catalog.pg_user", "resource id"),
            ("SELECT * INTO x FROM od_tokens", "INTO"),
            ("SELECT * FROM od_tokens FOR UPDATE", "locking"),
            ("SELECT 'pg_authid'::regclass", "cast to REGCLASS"),
            (
                "WITH d AS (DELETE FROM od_tokens RETURNING *) SELECT * FROM d",
                "only SELECT",
            ),
            (
                "SELECT lower(x) FROM (SELECT current_setting('a') x) s",
                "current_setting",
            ),
            ("", "Missing value"),
            ("SELEC 1", "Expected"),
        ] {
            let e = refused(sql);
            assert!(e.contains(why), "{sql}: {e}");
        }
    }
}
