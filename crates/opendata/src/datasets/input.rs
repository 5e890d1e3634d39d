//! A dataset as a publisher writes it (package_create/update/patch): read from CKAN's
//! package dictionary and checked, every problem named by its field.

use super::*;

/// A dataset as written: what a publisher sends (package_create/update/patch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    pub name: String,
    pub title: String,
    pub notes: String,
    pub owner_org: String,
    pub license_id: String,
    pub frequency: String,
    /// `draft` or `active`.
    pub state: String,
    pub author: String,
    pub author_email: String,
    pub maintainer: String,
    pub maintainer_email: String,
    pub url: String,
    pub tags: Vec<String>,
    pub groups: Vec<String>,
}

fn text(v: &Map<String, Value>, k: &str, p: &mut Problems, max: usize) -> Option<String> {
    match v.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= max => Some(s.trim().to_owned()),
        Some(Value::String(_)) => {
            p.entry(k.into())
                .or_default()
                .push(format!("at most {max} characters"));
            None
        }
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            p.entry(k.into())
                .or_default()
                .push("must be a string".into());
            None
        }
    }
}

/// Names from a CKAN list of `{"name": …}` objects (or plain strings).
fn name_list(v: &Map<String, Value>, k: &str, p: &mut Problems) -> Option<Vec<String>> {
    let list = match v.get(k)? {
        Value::Array(a) => a,
        Value::Null => return Some(Vec::new()),
        _ => {
            p.entry(k.into())
                .or_default()
                .push("a list of {\"name\": …}".into());
            return None;
        }
    };
    let mut out = Vec::new();
    for item in list {
        let n = match item {
            Value::String(s) => s.trim().to_owned(),
            Value::Object(o) => o
                .get("name")
                .or_else(|| o.get("id"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_owned(),
            _ => String::new(),
        };
        if n.is_empty() {
            p.entry(k.into())
                .or_default()
                .push("every item needs a name".into());
        } else if !out.contains(&n) {
            out.push(n);
        }
    }
    Some(out)
}

impl Input {
    /// `body` laid over `base` (everything for create and update; only what `body` names for
    /// patch), checked: every problem named by its field.
    pub fn from_json(base: Input, body: &Map<String, Value>) -> Result<Input, OdError> {
        let mut p = Problems::new();
        let mut i = base;
        let set = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut i.name, text(body, "name", &mut p, 100));
        set(&mut i.title, text(body, "title", &mut p, 200));
        set(&mut i.notes, text(body, "notes", &mut p, 20_000));
        set(&mut i.owner_org, text(body, "owner_org", &mut p, 100));
        set(&mut i.license_id, text(body, "license_id", &mut p, 100));
        set(&mut i.author, text(body, "author", &mut p, 200));
        set(&mut i.author_email, text(body, "author_email", &mut p, 200));
        set(&mut i.maintainer, text(body, "maintainer", &mut p, 200));
        set(
            &mut i.maintainer_email,
            text(body, "maintainer_email", &mut p, 200),
        );
        set(&mut i.url, text(body, "url", &mut p, 1000));
        set(&mut i.state, text(body, "state", &mut p, 20));
        if let Some(private) = body.get("private").and_then(Value::as_bool) {
            i.state = if private { "draft" } else { "active" }.into();
        }
        // The frequency, at the top or among the extras (as DCAT harvesters send it).
        set(&mut i.frequency, text(body, "frequency", &mut p, 20));
        if let Some(Value::Array(extras)) = body.get("extras") {
            for e in extras {
                if e["key"] == "frequency" {
                    if let Some(f) = e["value"].as_str() {
                        i.frequency = f.trim().to_lowercase();
                    }
                }
            }
        }
        if let Some(t) = name_list(body, "tags", &mut p) {
            i.tags = t;
        }
        if let Some(g) = name_list(body, "groups", &mut p) {
            i.groups = g;
        }
        if !name_ok(&i.name) {
            p.entry("name".into())
                .or_default()
                .push("2 to 100 lower-case letters, digits, - or _ (the dataset's address)".into());
        }
        if i.title.is_empty() {
            i.title = i.name.clone();
        }
        if i.owner_org.is_empty() {
            p.entry("owner_org".into())
                .or_default()
                .push("the publishing department's code".into());
        }
        if i.license_id.is_empty() {
            i.license_id = "cc-by-4.0".into();
        }
        if license(&i.license_id).is_none() {
            p.entry("license_id".into()).or_default().push(format!(
                "one of {}",
                licenses()
                    .iter()
                    .filter_map(|l| l["id"].as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if i.frequency.is_empty() {
            i.frequency = "irregular".into();
        }
        if !FREQUENCIES.contains(&i.frequency.as_str()) {
            p.entry("frequency".into())
                .or_default()
                .push(format!("one of {}", FREQUENCIES.join(", ")));
        }
        if i.state.is_empty() {
            i.state = "active".into();
        }
        if !["draft", "active"].contains(&i.state.as_str()) {
            p.entry("state".into())
                .or_default()
                .push("draft or active".into());
        }
        for t in &i.tags {
            if t.chars().count() > 100 || t.chars().any(|c| c.is_control() || c == ',') {
                p.entry("tags".into())
                    .or_default()
                    .push(format!("{t:?}: at most 100 characters, no commas"));
            }
        }
        if i.tags.len() > 50 {
            p.entry("tags".into())
                .or_default()
                .push("at most 50 tags".into());
        }
        if p.is_empty() {
            Ok(i)
        } else {
            Err(OdError::Invalid(p))
        }
    }
}
