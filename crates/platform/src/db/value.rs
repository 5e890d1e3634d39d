//! Engine-neutral values and rows passed between capability code and the two engines.

use super::DbError;

/// A parameter or column value, the common ground of SQLite and PostgreSQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row: column names and values in select order.
#[derive(Debug, Clone)]
pub struct Row {
    pub(crate) columns: std::sync::Arc<[String]>,
    pub(crate) values: Vec<Value>,
}

impl Row {
    /// The column names, in select order (for rows whose shape is data, like a DataStore
    /// table's).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in select order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    fn value(&self, name: &str) -> Result<&Value, DbError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| DbError::Decode(format!("no column {name}")))
    }

    pub fn get_i64(&self, name: &str) -> Result<i64, DbError> {
        match self.value(name)? {
            Value::Int(v) => Ok(*v),
            Value::Bool(b) => Ok(i64::from(*b)),
            other => Err(DbError::Decode(format!(
                "{name}: expected integer, got {other:?}"
            ))),
        }
    }

    pub fn get_opt_i64(&self, name: &str) -> Result<Option<i64>, DbError> {
        match self.value(name)? {
            Value::Null => Ok(None),
            _ => self.get_i64(name).map(Some),
        }
    }

    pub fn get_f64(&self, name: &str) -> Result<f64, DbError> {
        match self.value(name)? {
            Value::Real(v) => Ok(*v),
            Value::Int(v) => Ok(*v as f64),
            other => Err(DbError::Decode(format!(
                "{name}: expected number, got {other:?}"
            ))),
        }
    }

    pub fn get_opt_f64(&self, name: &str) -> Result<Option<f64>, DbError> {
        match self.value(name)? {
            Value::Null => Ok(None),
            _ => self.get_f64(name).map(Some),
        }
    }

    pub fn get_opt_bool(&self, name: &str) -> Result<Option<bool>, DbError> {
        match self.value(name)? {
            Value::Null => Ok(None),
            _ => self.get_bool(name).map(Some),
        }
    }

    pub fn get_bool(&self, name: &str) -> Result<bool, DbError> {
        match self.value(name)? {
            Value::Bool(b) => Ok(*b),
            Value::Int(v) => Ok(*v != 0),
            other => Err(DbError::Decode(format!(
                "{name}: expected boolean, got {other:?}"
            ))),
        }
    }

    pub fn get_str(&self, name: &str) -> Result<String, DbError> {
        match self.value(name)? {
            Value::Text(s) => Ok(s.clone()),
            other => Err(DbError::Decode(format!(
                "{name}: expected text, got {other:?}"
            ))),
        }
    }

    pub fn get_opt_str(&self, name: &str) -> Result<Option<String>, DbError> {
        match self.value(name)? {
            Value::Null => Ok(None),
            _ => self.get_str(name).map(Some),
        }
    }

    pub fn get_blob(&self, name: &str) -> Result<Vec<u8>, DbError> {
        match self.value(name)? {
            Value::Blob(b) => Ok(b.clone()),
            other => Err(DbError::Decode(format!(
                "{name}: expected bytes, got {other:?}"
            ))),
        }
    }
}

/// Rows that came as one JSON text, an array of arrays in `columns` order: what a statement
/// that answers a row with its children aggregated gives (PostgreSQL's `json_agg`, SQLite's
/// `json_group_array`), so a parent and its children are one statement (see
/// [`json_rows_sql`]). `None`, as `json_agg` gives for no children, is no rows.
pub fn rows_from_json(columns: &[&str], json: Option<&str>) -> Result<Vec<Row>, DbError> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let arrays: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(json).map_err(|e| DbError::Decode(format!("child rows: {e}")))?;
    let names: std::sync::Arc<[String]> = columns.iter().map(|c| (*c).to_owned()).collect();
    arrays
        .into_iter()
        .map(|values| {
            if values.len() != names.len() {
                return Err(DbError::Decode(format!(
                    "child row of {} values, expected {}",
                    values.len(),
                    names.len()
                )));
            }
            let values = values
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::Null => Ok(Value::Null),
                    serde_json::Value::Bool(b) => Ok(Value::Bool(b)),
                    serde_json::Value::String(s) => Ok(Value::Text(s)),
                    serde_json::Value::Number(n) => n
                        .as_i64()
                        .map(Value::Int)
                        .or_else(|| n.as_f64().map(Value::Real))
                        .ok_or_else(|| DbError::Decode(format!("child value {n}"))),
                    other => Err(DbError::Decode(format!("child value {other}"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Row {
                columns: names.clone(),
                values,
            })
        })
        .collect()
}

/// The SQL expression, for `engine`, that aggregates `columns` of the rows of `from` (a
/// table and its condition, e.g. `case_events WHERE case_id = cases.id`) ordered by `order`
/// into the JSON text [`rows_from_json`] reads.
pub fn json_rows_sql(engine: super::Engine, columns: &[&str], from: &str, order: &str) -> String {
    let list = columns.join(", ");
    match engine {
        super::Engine::Postgres => format!(
            "(SELECT json_agg(json_build_array({list}) ORDER BY {order})::text FROM {from})"
        ),
        super::Engine::Sqlite => {
            format!("(SELECT json_group_array(json_array({list}) ORDER BY {order}) FROM {from})")
        }
    }
}

/// Build a parameter slice: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[$crate::db::Value] };
    ($($x:expr),+ $(,)?) => { &[$($crate::db::Value::from($x)),+] as &[$crate::db::Value] };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_rows_from_json() {
        let rows = rows_from_json(
            &["at", "note", "gone"],
            Some(r#"[[1, "a", null], [2.5, "b", true]]"#),
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get_i64("at").unwrap(), 1);
        assert_eq!(rows[0].get_str("note").unwrap(), "a");
        assert_eq!(rows[0].get_opt_str("gone").unwrap(), None);
        assert_eq!(rows[1].get_f64("at").unwrap(), 2.5);
        assert_eq!(rows[1].get_opt_bool("gone").unwrap(), Some(true));
        assert!(rows_from_json(&["at"], None).unwrap().is_empty());
        assert!(rows_from_json(&["at"], Some("[]")).unwrap().is_empty());
        assert!(rows_from_json(&["at", "note"], Some("[[1]]")).is_err());
        assert!(rows_from_json(&["at"], Some("[[{}]]")).is_err());
        assert!(rows_from_json(&["at"], Some("not json")).is_err());
    }
}
