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

/// Build a parameter slice: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    () => { &[] as &[$crate::db::Value] };
    ($($x:expr),+ $(,)?) => { &[$($crate::db::Value::from($x)),+] as &[$crate::db::Value] };
}
