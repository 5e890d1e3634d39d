//! Server-side validation of an application form against a matter's schema. Returns the
//! normalised values, or every problem at once, each naming its field.

use crate::model::Field;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};
use tongban_platform::ids::{check_email, CreditCode, IdNumber, Phone};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    pub field: String,
    /// Machine-readable reason that pages translate (`required`, `too_long`, …).
    pub code: &'static str,
    /// Bilingual text for API clients.
    pub message: String,
    /// The limit involved (`min`, `max`), for messages like "at most {max} characters".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// A reason a value is refused: code, bilingual message, optional limit.
struct Refusal(&'static str, String, Option<String>);

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal(code, message.into(), None)
}

fn refuse_limit(code: &'static str, message: impl Into<String>, limit: impl ToString) -> Refusal {
    Refusal(code, message.into(), Some(limit.to_string()))
}

/// Files present in the request, by part name; used for `file` fields.
pub trait FilesPresent {
    fn has_file(&self, key: &str) -> bool;
}

impl FilesPresent for [String] {
    fn has_file(&self, key: &str) -> bool {
        self.iter().any(|k| k == key)
    }
}

/// Validate `form` against `fields`. With `partial`, absent fields are left alone (supplements
/// send only what changes).
pub fn validate(
    fields: &[Field],
    form: &Map<String, Value>,
    files: &[String],
    partial: bool,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for key in form.keys() {
        if !fields.iter().any(|f| &f.key == key && f.kind != "file") {
            errors.push(FieldError {
                field: key.clone(),
                code: "not_a_field",
                message: format!("{key:?} is not a field of this form"),
                limit: None,
            });
        }
    }
    for f in fields {
        if f.kind == "file" {
            if f.required && !partial && !files.has_file(&f.key) {
                errors.push(err(
                    f,
                    refuse("file_required", "请上传文件 / upload a file"),
                ));
            }
            continue;
        }
        let raw = form.get(&f.key);
        let text = match raw {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(_) => {
                errors.push(err(
                    f,
                    refuse("bad_type", "应为文本或数字 / must be text or a number"),
                ));
                continue;
            }
        };
        let Some(text) = text else {
            if f.required && !(partial && raw.is_none()) {
                errors.push(err(
                    f,
                    refuse("required", "此项必填 / this field is required"),
                ));
            }
            continue;
        };
        match check_value(f, &text) {
            Ok(v) => {
                out.insert(f.key.clone(), v);
            }
            Err(r) => errors.push(err(f, r)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn err(f: &Field, r: Refusal) -> FieldError {
    FieldError {
        field: f.key.clone(),
        code: r.0,
        message: format!("{}: {}", f.label_zh, r.1),
        limit: r.2,
    }
}

fn check_value(f: &Field, text: &str) -> Result<Value, Refusal> {
    let len = text.chars().count() as u32;
    if let Some(min) = f.min_length {
        if len < min {
            return Err(refuse_limit(
                "too_short",
                format!("至少 {min} 个字符 / at least {min} characters"),
                min,
            ));
        }
    }
    let max_len = f
        .max_length
        .unwrap_or(if f.kind == "textarea" { 2000 } else { 200 });
    if len > max_len {
        return Err(refuse_limit(
            "too_long",
            format!("最多 {max_len} 个字符 / at most {max_len} characters"),
            max_len,
        ));
    }
    if let Some(p) = &f.pattern {
        let re = regex::Regex::new(&format!("^(?:{p})$"))
            .map_err(|_| refuse("pattern", "schema pattern is broken"))?;
        if !re.is_match(text) {
            return Err(refuse(
                "pattern",
                "格式不正确 / does not match the required format",
            ));
        }
    }
    let v = match f.kind.as_str() {
        "number" => {
            let n: f64 = text
                .parse()
                .map_err(|_| refuse("not_a_number", "应为数字 / must be a number"))?;
            if !n.is_finite() {
                return Err(refuse("not_a_number", "应为数字 / must be a number"));
            }
            if let Some(min) = f.min {
                if n < min {
                    return Err(refuse_limit(
                        "below_min",
                        format!("不能小于 {min} / must be at least {min}"),
                        min,
                    ));
                }
            }
            if let Some(max) = f.max {
                if n > max {
                    return Err(refuse_limit(
                        "above_max",
                        format!("不能大于 {max} / must be at most {max}"),
                        max,
                    ));
                }
            }
            serde_json::Number::from_f64(n)
                .map(|num| {
                    if n.fract() == 0.0 && n.abs() < 9e15 {
                        Value::from(n as i64)
                    } else {
                        Value::Number(num)
                    }
                })
                .ok_or_else(|| refuse("not_a_number", "应为数字 / must be a number"))?
        }
        "date" => {
            let d = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                refuse(
                    "bad_date",
                    "日期格式应为 YYYY-MM-DD / use a date like 2026-01-31",
                )
            })?;
            Value::String(d.format("%Y-%m-%d").to_string())
        }
        "select" => {
            if !f.options.iter().any(|o| o == text) {
                return Err(refuse(
                    "bad_option",
                    format!(
                        "请选择: {} / choose one of the options",
                        f.options.join("、")
                    ),
                ));
            }
            Value::String(text.to_owned())
        }
        "checkbox" => match text {
            "true" | "on" | "1" | "yes" => Value::Bool(true),
            "false" | "off" | "0" | "no" => Value::Bool(false),
            _ => return Err(refuse("bad_bool", "应为是或否 / must be true or false")),
        },
        "id_number" => Value::String(
            IdNumber::parse(text)
                .map_err(|m| refuse("invalid_id_number", m))?
                .as_str()
                .to_owned(),
        ),
        "credit_code" => Value::String(
            CreditCode::parse(text)
                .map_err(|m| refuse("invalid_credit_code", m))?
                .as_str()
                .to_owned(),
        ),
        "phone" => Value::String(
            Phone::parse(text)
                .map_err(|m| refuse("invalid_phone", m))?
                .as_str()
                .to_owned(),
        ),
        "email" => {
            check_email(text).map_err(|m| refuse("invalid_email", m))?;
            Value::String(text.to_owned())
        }
        _ => Value::String(text.to_owned()),
    };
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str, kind: &str, required: bool) -> Field {
        Field {
            key: key.into(),
            label_zh: key.into(),
            label_en: key.into(),
            kind: kind.into(),
            required,
            options: vec![],
            min_length: None,
            max_length: None,
            min: None,
            max: None,
            pattern: None,
            hint: None,
            personal: false,
            prefill: None,
        }
    }

    #[test]
    fn collects_every_error_and_normalises() {
        let mut age = field("age", "number", true);
        age.min = Some(0.0);
        age.max = Some(150.0);
        let fields = vec![
            field("name", "text", true),
            field("id", "id_number", true),
            age,
            field("born", "date", false),
            field("doc", "file", true),
        ];
        let form: Map<String, Value> = serde_json::from_str(
            r#"{"name": " 张三 ", "id": "11010519491231002x", "age": 200, "born": "2026-02-30", "extra": 1}"#,
        )
        .unwrap();
        let errs = validate(&fields, &form, &[], false).unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(keys, vec!["extra", "age", "born", "doc"]);

        let form: Map<String, Value> =
            serde_json::from_str(r#"{"name": " 张三 ", "id": "11010519491231002x", "age": "30"}"#)
                .unwrap();
        let ok = validate(&fields, &form, &["doc".to_string()], false).unwrap();
        assert_eq!(ok["name"], "张三");
        assert_eq!(ok["id"], "11010519491231002X");
        assert_eq!(ok["age"], 30);
    }

    #[test]
    fn partial_leaves_absent_fields() {
        let fields = vec![field("name", "text", true), field("phone", "phone", true)];
        let form: Map<String, Value> = serde_json::from_str(r#"{"phone": "13912345678"}"#).unwrap();
        assert!(validate(&fields, &form, &[], true).is_ok());
        assert!(validate(&fields, &form, &[], false).is_err());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,40}".prop_map(Value::String),
            Just(Value::String(
                "'; DROP TABLE cases; --<script>alert(1)</script>".into()
            )),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Every demo form, given any values under its keys or others, validates or names
        /// each problem's field; it never panics and never accepts a value it cannot check.
        #[test]
        fn validation_never_panics(values in proptest::collection::vec(any_json(), 1..8), pick in 0usize..37, partial in any::<bool>()) {
            let ms = crate::exchange::demo().unwrap();
            let m = &ms[pick % ms.len()];
            let mut form = Map::new();
            for (i, v) in values.into_iter().enumerate() {
                let key = m.fields.get(i).map_or_else(|| format!("x{i}"), |f| f.key.clone());
                form.insert(key, v);
            }
            match validate(&m.fields, &form, &[], partial) {
                Ok(out) => {
                    for (k, _) in out.iter() {
                        prop_assert!(m.fields.iter().any(|f| &f.key == k));
                    }
                }
                Err(errs) => prop_assert!(!errs.is_empty() && errs.iter().all(|e| !e.field.is_empty())),
            }
        }
    }
}
