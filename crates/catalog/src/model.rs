//! A service matter (事项) as the catalogue describes it: who handles it, under what law,
//! within how many working days, with which materials and which application form.

use serde::{Deserialize, Serialize};
use tongban_platform::identity::Department;

/// The eight kinds of the national catalogue of government service matters.
pub const KINDS: [&str; 8] = [
    "行政许可",
    "行政给付",
    "行政确认",
    "行政征收",
    "行政裁决",
    "行政奖励",
    "其他行政权力",
    "公共服务",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matter {
    /// 事项编码.
    pub code: String,
    pub name: String,
    /// The name in English (shown to English readers; the Chinese name where empty).
    #[serde(default)]
    pub name_en: String,
    pub department: Department,
    /// One of [`KINDS`].
    pub kind: String,
    /// 法定办结时限, working days.
    pub legal_days: u32,
    /// 承诺办结时限, working days (never above the legal limit).
    pub promised_days: u32,
    /// 受理时限: working days from submission within which the department accepts or
    /// refuses an application (the clerk's queue flags new cases by it).
    #[serde(default = "one")]
    pub accept_days: u32,
    /// 收费标准, e.g. 不收费.
    pub fee: String,
    /// 网办深度 1–4: 1 information, 2 online booking and forms, 3 online pre-review,
    /// 4 fully online (全程网办).
    pub online_depth: u8,
    /// 到现场次数: 0 (零跑动) or 1 (最多跑一次).
    pub max_visits: u8,
    /// 受理条件.
    pub conditions: String,
    /// The conditions in English (the Chinese where empty).
    #[serde(default)]
    pub conditions_en: String,
    /// 设定依据.
    pub legal_basis: String,
    #[serde(default = "yes")]
    pub published: bool,
    #[serde(default)]
    pub materials: Vec<Material>,
    #[serde(default)]
    pub fields: Vec<Field>,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}

impl Matter {
    /// Whether citizens can apply online: online depth 3 (pre-review) or 4 (fully online).
    pub fn applies_online(&self) -> bool {
        self.online_depth >= 3
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// The multipart part name under which the file is uploaded.
    pub key: String,
    pub name: String,
    /// The name in English (the Chinese where empty).
    #[serde(default)]
    pub name_en: String,
    pub required: bool,
    /// `original` (原件), `copy` (复印件) or `both` (原件和复印件).
    pub form: String,
    /// Accepted file extensions, lower case without the dot.
    pub formats: Vec<String>,
    /// 份数: how many copies (or originals) to hand in at the counter.
    #[serde(default = "one")]
    pub copies: u32,
    /// The code of an e-certificate type (电子证照) that stands for this material: an
    /// applicant holding a valid one hands nothing in (免提交).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// A data-sharing service that stands for this material, `{provider}/{service}`
    /// (`{peer}/{department}/{service}` on a peer deployment): asked with the applicant's ID
    /// number by the matter's department when the applicant hands nothing in; an answer
    /// that found a record, signed by the provider, is the material (免提交).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
}

/// The most copies of one material a matter may ask for.
pub const MAX_COPIES: u32 = 20;

pub const MATERIAL_FORMS: [(&str, &str); 3] = [
    ("original", "原件"),
    ("copy", "复印件"),
    ("both", "原件和复印件"),
];

pub const FIELD_TYPES: [&str; 11] = [
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "id_number",
    "credit_code",
    "phone",
    "email",
    "file",
    "checkbox",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Holds personal information beyond the typed ones (encrypted at rest, masked).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub personal: bool,
    /// Filled from the applicant's real-name identity and locked: `name`, `id_number` or
    /// `phone` (what the platform knows is never asked again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
}

/// What a field may be filled from, and the field types each fits.
pub const PREFILLS: [(&str, &[&str]); 3] = [
    ("name", &["text"]),
    ("id_number", &["id_number"]),
    ("phone", &["phone"]),
];

/// What is wrong with a matter definition, for import reports and the admin API.
pub fn check_matter(m: &Matter) -> Result<(), String> {
    let code_ok = !m.code.is_empty()
        && m.code.len() <= 64
        && m.code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !code_ok {
        return Err(format!(
            "code {:?} must be 1-64 letters, digits, - or _",
            m.code
        ));
    }
    if m.name.trim().is_empty() {
        return Err("name is empty".into());
    }
    if m.department.code.trim().is_empty() || m.department.name.trim().is_empty() {
        return Err("department code and name are both needed".into());
    }
    if !KINDS.contains(&m.kind.as_str()) {
        return Err(format!(
            "kind {:?} is not one of {}",
            m.kind,
            KINDS.join(", ")
        ));
    }
    if m.legal_days == 0 || m.legal_days > 365 {
        return Err(format!("legal_days {} must be 1 to 365", m.legal_days));
    }
    if m.promised_days == 0 || m.promised_days > m.legal_days {
        return Err(format!(
            "promised_days {} must be at least 1 and not above legal_days {}",
            m.promised_days, m.legal_days
        ));
    }
    if m.accept_days > 20 {
        return Err(format!(
            "accept_days {} must be 0 (accepted the day it arrives) to 20 working days",
            m.accept_days
        ));
    }
    if !(1..=4).contains(&m.online_depth) {
        return Err(format!("online_depth {} must be 1 to 4", m.online_depth));
    }
    if m.max_visits > 1 {
        return Err(format!("max_visits {} must be 0 or 1", m.max_visits));
    }
    for f in &m.fields {
        if let Some(p) = &f.prefill {
            match PREFILLS.iter().find(|(name, _)| name == p) {
                Some((_, kinds)) if kinds.contains(&f.kind.as_str()) => {}
                Some((_, kinds)) => {
                    return Err(format!(
                        "field {}: prefill {p:?} needs type {}",
                        f.key,
                        kinds.join(" or ")
                    ))
                }
                None => {
                    return Err(format!(
                        "field {}: prefill {p:?} must be name, id_number or phone",
                        f.key
                    ))
                }
            }
        }
    }
    let mut keys = std::collections::BTreeSet::new();
    for mat in &m.materials {
        if mat.name.trim().is_empty() {
            return Err(format!("material {:?} has no name", mat.key));
        }
        if !MATERIAL_FORMS.iter().any(|(k, _)| *k == mat.form) {
            return Err(format!(
                "material {:?}: form must be original, copy or both",
                mat.name
            ));
        }
        if !(1..=MAX_COPIES).contains(&mat.copies) {
            return Err(format!(
                "material {:?}: copies must be 1 to {MAX_COPIES}",
                mat.name
            ));
        }
        if mat.formats.is_empty() {
            return Err(format!(
                "material {:?}: list at least one accepted format",
                mat.name
            ));
        }
        if let Some(t) = &mat.certificate {
            if t.is_empty()
                || t.len() > 32
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "material {:?}: certificate must be a certificate type's code (letters, digits, '-' or '_'), got {t:?}",
                    mat.name
                ));
            }
        }
        if let Some(x) = &mat.exchange {
            let part_ok = |p: &str| {
                !p.is_empty()
                    && p.len() <= 64
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            if !(2..=3).contains(&x.split('/').count()) || !x.split('/').all(part_ok) {
                return Err(format!(
                    "material {:?}: exchange must be provider/service (e.g. wx-mzj/marriage), got {x:?}",
                    mat.name
                ));
            }
        }
        check_key(&mat.key)?;
        if !keys.insert(mat.key.clone()) {
            return Err(format!("key {:?} is used twice", mat.key));
        }
    }
    for f in &m.fields {
        check_key(&f.key)?;
        if !keys.insert(f.key.clone()) {
            return Err(format!("key {:?} is used twice", f.key));
        }
        if !FIELD_TYPES.contains(&f.kind.as_str()) {
            return Err(format!(
                "field {:?}: type {:?} is not one of {}",
                f.key,
                f.kind,
                FIELD_TYPES.join(", ")
            ));
        }
        if f.label_zh.trim().is_empty() {
            return Err(format!("field {:?} has no Chinese label", f.key));
        }
        if f.kind == "select" && f.options.is_empty() {
            return Err(format!("field {:?} is a select without options", f.key));
        }
        if let Some(p) = &f.pattern {
            regex::Regex::new(p)
                .map_err(|e| format!("field {:?}: pattern does not compile: {e}", f.key))?;
        }
        if let (Some(a), Some(b)) = (f.min_length, f.max_length) {
            if a > b {
                return Err(format!("field {:?}: min_length is above max_length", f.key));
            }
        }
        if let (Some(a), Some(b)) = (f.min, f.max) {
            if a > b {
                return Err(format!("field {:?}: min is above max", f.key));
            }
        }
    }
    Ok(())
}

fn check_key(k: &str) -> Result<(), String> {
    let ok = !k.is_empty()
        && k.len() <= 64
        && k.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "key {k:?} must start with a-z and hold only a-z, 0-9 and _"
        ))
    }
}
