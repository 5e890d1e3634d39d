//! Message catalogues: every text a page shows comes from `i18n/zh-CN.toml` or `i18n/en.toml`
//! by key, Chinese first. A key missing in English falls back to Chinese, then to the key.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Lang {
    #[serde(rename = "zh-CN")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh-CN" | "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
    /// From an `Accept-Language` header: English only when it comes before any Chinese.
    pub fn from_accept(header: &str) -> Lang {
        for part in header.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::Zh;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Zh
    }
}

pub const ZH: &str = include_str!("../i18n/zh-CN.toml");
pub const EN: &str = include_str!("../i18n/en.toml");

fn flatten(prefix: &str, v: &toml::Value, out: &mut HashMap<String, String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

pub fn parse_catalogue(text: &str) -> Result<HashMap<String, String>, String> {
    let v: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    flatten("", &v, &mut out);
    Ok(out)
}

fn catalogues() -> &'static (HashMap<String, String>, HashMap<String, String>) {
    static C: OnceLock<(HashMap<String, String>, HashMap<String, String>)> = OnceLock::new();
    C.get_or_init(|| {
        (
            parse_catalogue(ZH).unwrap_or_else(|e| {
                tracing::error!(error = %e, "zh-CN catalogue is broken");
                HashMap::new()
            }),
            parse_catalogue(EN).unwrap_or_else(|e| {
                tracing::error!(error = %e, "en catalogue is broken");
                HashMap::new()
            }),
        )
    })
}

/// The text for `key` in `lang`.
pub fn t(lang: Lang, key: &str) -> String {
    let (zh, en) = catalogues();
    let hit = match lang {
        Lang::En => en.get(key).or_else(|| zh.get(key)),
        Lang::Zh => zh.get(key),
    };
    hit.cloned().unwrap_or_else(|| key.to_owned())
}

/// The text for `key` in `lang` said of `n` things: English has a singular (`key_one`) for
/// one; Chinese has one form.
pub fn t_n(lang: Lang, key: &str, n: Option<f64>) -> String {
    if lang == Lang::En && n == Some(1.0) {
        let one = format!("{key}_one");
        if let Some(text) = catalogues().1.get(&one) {
            return text.clone();
        }
    }
    t(lang, key)
}

/// A text kept in Chinese and English: the English for English readers where there is one,
/// else the Chinese.
pub fn pick<'a>(lang: Lang, zh: &'a str, en: &'a str) -> &'a str {
    if lang == Lang::En && !en.is_empty() {
        en
    } else {
        zh
    }
}

/// Whether `key` exists in the Chinese catalogue (for optional texts such as error codes).
pub fn has(key: &str) -> bool {
    catalogues().0.contains_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_says_one_thing_in_the_singular() {
        assert_eq!(
            t_n(Lang::En, "case.days_left", Some(1.0)),
            "{} working day left"
        );
        assert_eq!(
            t_n(Lang::En, "case.days_left", Some(2.0)),
            "{} working days left"
        );
        assert_eq!(t_n(Lang::En, "unit.workdays", Some(0.0)), "{} working days");
        assert_eq!(
            t_n(Lang::Zh, "case.days_left", Some(1.0)),
            t(Lang::Zh, "case.days_left")
        );
        // Every singular has its plural.
        let en = parse_catalogue(EN).unwrap();
        for k in en.keys().filter(|k| k.ends_with("_one")) {
            assert!(
                en.contains_key(k.trim_end_matches("_one")),
                "{k} without its plural"
            );
        }
    }

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let zh = parse_catalogue(ZH).unwrap();
        let en = parse_catalogue(EN).unwrap();
        let mut missing_en: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        // English singulars (`key_one`, used when the number is 1) have no Chinese twin:
        // Chinese has one form.
        let mut missing_zh: Vec<_> = en
            .keys()
            .filter(|k| !zh.contains_key(*k) && !k.ends_with("_one"))
            .collect();
        missing_en.sort();
        missing_zh.sort();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_zh.is_empty(), "missing in zh-CN: {missing_zh:?}");
    }

    /// The error codes the rooms answer with: the first string literal after each
    /// `ApiError` constructor (`new`, `bad_request`, `unprocessable`, `conflict`,
    /// `not_found`, `too_many`), `.with_code(` and the rooms' `bad(` helpers.
    fn codes_in_sources() -> std::collections::BTreeMap<String, String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if p.is_dir()
                    && !["target", "tests", "migrations", "templates", "i18n", "data"]
                        .contains(&name.as_str())
                {
                    dirs.push(p);
                } else if name.ends_with(".rs") && p.to_string_lossy().contains("/src/") {
                    files.push(p);
                }
            }
        }
        let openers = [
            "ApiError::new(",
            "ApiError::bad_request(",
            "ApiError::unprocessable(",
            "ApiError::conflict(",
            "ApiError::not_found(",
            "ApiError::too_many(",
            ".with_code(",
            " bad(",
            "(bad(",
            // A room's error enum maps each variant to its status and code in one tuple.
            "(StatusCode::",
        ];
        let mut out = std::collections::BTreeMap::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for o in openers {
                for (at, _) in text.match_indices(o) {
                    let rest = &text[at + o.len()..];
                    // The literal before the call's first closing parenthesis.
                    let Some(q) = rest.find('"') else { continue };
                    if rest[..q].contains(')') || q > 120 {
                        continue;
                    }
                    let lit = &rest[q + 1..];
                    let Some(end) = lit.find('"') else { continue };
                    let code = &lit[..end];
                    if !code.is_empty()
                        && code
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    {
                        out.entry(code.to_owned())
                            .or_insert_with(|| f.display().to_string());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_error_code_has_both_texts() {
        let zh = parse_catalogue(ZH).unwrap();
        let en = parse_catalogue(EN).unwrap();
        let codes = codes_in_sources();
        assert!(
            codes.len() > 50,
            "the scan finds the codes: {}",
            codes.len()
        );
        let missing: Vec<String> = codes
            .iter()
            .filter(|(c, _)| {
                let k = format!("error.{c}");
                !zh.contains_key(&k) || !en.contains_key(&k)
            })
            .map(|(c, f)| format!("{c} ({f})"))
            .collect();
        assert!(
            missing.is_empty(),
            "error codes without zh-CN and en texts: {missing:?}"
        );
    }

    /// The dashboards' labels live in the catalogues (`board.*`), in both languages.
    #[test]
    fn every_board_label_has_both_texts() {
        let zh = parse_catalogue(ZH).unwrap();
        let en = parse_catalogue(EN).unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../insight/src");
        let mut files = vec![dir.join("dashboards.rs")];
        for e in std::fs::read_dir(dir.join("dashboards")).unwrap().flatten() {
            files.push(e.path());
        }
        let mut keys = std::collections::BTreeSet::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (at, _) in text.match_indices("tr.t(\"") {
                let rest = &text[at + 6..];
                if let Some(end) = rest.find('"') {
                    keys.insert(rest[..end].to_owned());
                }
            }
            assert!(
                !text.contains("tr.s("),
                "{}: labels belong in the catalogues",
                f.display()
            );
        }
        assert!(keys.len() > 60, "the scan finds the labels: {}", keys.len());
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| {
                let k = format!("board.{k}");
                !zh.contains_key(&k) || !en.contains_key(&k)
            })
            .collect();
        assert!(
            missing.is_empty(),
            "board labels without both texts: {missing:?}"
        );
    }

    #[test]
    fn accept_language() {
        assert_eq!(Lang::from_accept("en-US,en;q=0.9,zh-CN;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::from_accept(""), Lang::Zh);
    }
}
