//! Open311's two formats: the value tree every answer is built as, written as JSON or as the
//! specification's XML (lists wrapped, text escaped, control characters dropped), and its
//! error envelope.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

/// Split `name.json` / `name.xml`.
pub fn split_format(file: &str) -> Option<(&str, Format)> {
    if let Some(n) = file.strip_suffix(".json") {
        Some((n, Format::Json))
    } else {
        file.strip_suffix(".xml").map(|n| (n, Format::Xml))
    }
}

/// A value in a response, rendered to JSON or XML alike.
#[derive(Debug, Clone)]
pub enum V {
    S(String),
    N(f64),
    I(i64),
    B(bool),
    Null,
    /// A list element name (for XML) and its items.
    List(&'static str, Vec<V>),
    Obj(Vec<(&'static str, V)>),
}

impl V {
    pub(crate) fn s(v: impl Into<String>) -> V {
        V::S(v.into())
    }
    pub(crate) fn opt(v: Option<String>) -> V {
        v.map_or(V::Null, V::S)
    }
    pub(crate) fn json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            V::S(s) => J::String(s.clone()),
            V::N(n) => serde_json::Number::from_f64(*n).map_or(J::Null, J::Number),
            V::I(n) => J::Number((*n).into()),
            V::B(b) => J::Bool(*b),
            V::Null => J::Null,
            V::List(_, items) => J::Array(items.iter().map(V::json).collect()),
            V::Obj(fields) => J::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.json()))
                    .collect(),
            ),
        }
    }
    pub(crate) fn xml(&self, out: &mut String) {
        match self {
            V::S(s) => escape(s, out),
            V::N(n) => out.push_str(&n.to_string()),
            V::I(n) => out.push_str(&n.to_string()),
            V::B(b) => out.push_str(if *b { "true" } else { "false" }),
            V::Null => {}
            V::List(name, items) => {
                for i in items {
                    tag(name, i, out);
                }
            }
            V::Obj(fields) => {
                for (k, v) in fields {
                    tag(k, v, out);
                }
            }
        }
    }
}

pub(super) fn tag(name: &str, v: &V, out: &mut String) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    v.xml(out);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// Render `body` (whose root element is `root` in XML) with `status`.
pub fn render(f: Format, status: StatusCode, root: &str, body: &V) -> Response {
    match f {
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body.json().to_string(),
        )
            .into_response(),
        Format::Xml => {
            let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            tag(root, body, &mut out);
            (
                status,
                [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
                out,
            )
                .into_response()
        }
    }
}

/// An Open311 error: JSON `[{"code", "description"}]`, XML `<errors><error>…`.
#[derive(Debug)]
pub struct Error311 {
    pub status: StatusCode,
    pub description: String,
}

impl Error311 {
    pub fn new(status: StatusCode, d: impl Into<String>) -> Self {
        Error311 {
            status,
            description: d.into(),
        }
    }
    pub fn bad(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, d)
    }
    pub fn render(&self, f: Format) -> Response {
        let body = V::List(
            "error",
            vec![V::Obj(vec![
                ("code", V::I(i64::from(self.status.as_u16()))),
                ("description", V::s(self.description.clone())),
            ])],
        );
        render(f, self.status, "errors", &body)
    }
}

impl From<ApiError> for Error311 {
    fn from(e: ApiError) -> Self {
        let keep = e.status.is_server_error()
            || e.status == StatusCode::NOT_FOUND
            || e.status == StatusCode::FORBIDDEN;
        let status = if keep {
            e.status
        } else {
            StatusCode::BAD_REQUEST
        };
        Error311::new(status, e.message)
    }
}

impl From<crate::HotlineError> for Error311 {
    fn from(e: crate::HotlineError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<DbError> for Error311 {
    fn from(e: DbError) -> Self {
        ApiError::from(e).into()
    }
}
