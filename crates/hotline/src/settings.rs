//! The hotline's editable configuration: extra categories under the region's tree, routing
//! rules and time limits. Kept in `hotline_settings` as JSON so every node reads the same.
//! Loaded with the region's category tree and districts, which the checks use.

use crate::categories::{Routing, Tree};
use crate::rules::Limits;
use crate::HotlineError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    pub category: String,
    #[serde(default)]
    pub district: Option<String>,
    pub department: String,
}

/// A sub-category added by the city under a top-level category of the region's tree.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraCategory {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub categories: Vec<ExtraCategory>,
    /// Routing rules (the region's `routing.csv` when imported; editable).
    pub routing: Vec<RouteRule>,
    pub limits: Limits,
    /// The region's category tree (not part of the editable settings).
    #[serde(skip)]
    pub tree: Arc<Tree>,
    /// The region's districts and counties in force, by name.
    #[serde(skip)]
    pub districts: Arc<Vec<String>>,
}

impl Settings {
    pub fn routing(&self) -> Routing {
        let mut r = Routing::default();
        for rule in &self.routing {
            r.add(&rule.category, rule.district.as_deref(), &rule.department);
        }
        r
    }

    pub fn category_exists(&self, code: &str) -> bool {
        self.tree.exists(code) || self.categories.iter().any(|c| c.code == code)
    }

    /// Whether `name` is a district or county of the region in force.
    pub fn district_exists(&self, name: &str) -> bool {
        self.districts.iter().any(|d| d == name)
    }

    /// The department the routing rules give an order of `category` in `district`.
    pub fn route(&self, category: &str, district: &str) -> Option<String> {
        self.routing().route(category, district).map(str::to_owned)
    }

    /// The Chinese name of a category code (the code itself if unknown).
    pub fn category_name(&self, code: &str) -> String {
        self.tree
            .name(code)
            .map(str::to_owned)
            .or_else(|| {
                self.categories
                    .iter()
                    .find(|c| c.code == code)
                    .map(|c| c.name.clone())
            })
            .unwrap_or_else(|| code.to_owned())
    }

    /// Every category in force: (code, name, parent code or None), each after its parent,
    /// the city's extra ones after the rest of their top-level category.
    pub fn all_categories(&self) -> Vec<(String, String, Option<String>)> {
        let mut v = Vec::new();
        let walk = self.tree.walk();
        for (i, (c, _)) in walk.iter().enumerate() {
            v.push((c.code.clone(), c.name.clone(), c.parent.clone()));
            let last_of_top = walk
                .get(i + 1)
                .is_none_or(|(next, depth)| *depth == 0 && next.code != c.code);
            if last_of_top {
                let top = crate::categories::top(&c.code).to_owned();
                for e in self
                    .categories
                    .iter()
                    .filter(|e| e.code.split('.').next() == Some(top.as_str()))
                {
                    v.push((e.code.clone(), e.name.clone(), Some(top.clone())));
                }
            }
        }
        v
    }

    /// Check a whole new configuration; `departments` are the known department codes.
    pub fn validate(&self, departments: &[String]) -> Result<(), HotlineError> {
        let bad = |m: String| HotlineError::InvalidSettings(m);
        let mut seen = std::collections::HashSet::new();
        for e in &self.categories {
            let (top, sub) = e.code.split_once('.').unwrap_or((&e.code, ""));
            if sub.is_empty()
                || !sub
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                || !self.tree.tops().any(|c| c.code == top)
            {
                return Err(bad(format!(
                    "category code {:?} must be TOP.name with TOP a top-level category of the region and name in a-z, 0-9, _",
                    e.code
                )));
            }
            if self.tree.exists(&e.code) || !seen.insert(e.code.clone()) {
                return Err(bad(format!("category {:?} is defined twice", e.code)));
            }
            let n = e.name.trim().chars().count();
            if n == 0 || n > 30 {
                return Err(bad(format!(
                    "category {:?} needs a name of 1-30 characters",
                    e.code
                )));
            }
        }
        let mut keys = std::collections::HashSet::new();
        for r in &self.routing {
            if !self.category_exists(&r.category) {
                return Err(bad(format!(
                    "routing names unknown category {:?}",
                    r.category
                )));
            }
            if let Some(d) = &r.district {
                if !self.district_exists(d) {
                    return Err(bad(format!(
                        "routing names unknown district {d:?}; districts are {}",
                        self.districts.join("、")
                    )));
                }
            }
            if !departments.contains(&r.department) {
                return Err(bad(format!(
                    "routing names unknown department {:?}",
                    r.department
                )));
            }
            if !keys.insert((r.category.clone(), r.district.clone())) {
                return Err(bad(format!(
                    "two routing rules for category {:?} and district {:?}",
                    r.category, r.district
                )));
            }
        }
        let l = &self.limits;
        for (name, v) in [
            ("sign", l.sign),
            ("return_misrouted", l.return_misrouted),
            ("answer_quick", l.answer_quick),
            ("answer_full", l.answer_full),
            ("max_extension", l.max_extension),
        ] {
            if !(1..=60).contains(&v) {
                return Err(bad(format!(
                    "limits.{name} must be 1 to 60 working days, got {v}"
                )));
            }
        }
        Ok(())
    }
}

/// The configuration in force (defaults for parts never saved), with the region's tree and
/// districts, read in the caller's transaction.
pub fn load(c: &mut dyn Conn) -> Result<Settings, DbError> {
    Ok(Settings {
        tree: Arc::new(crate::categories::load(c)?),
        districts: Arc::new(tongban_platform::region::store::district_names(c)?),
        ..stored(c)?
    })
}

/// The configuration in force, with the tree and districts this node keeps in memory (one
/// query instead of three: the request paths use it).
pub async fn current(db: &tongban_platform::db::Db) -> Result<Settings, DbError> {
    let tree = crate::categories::current(db).await?;
    let region = tongban_platform::region::current(db).await?;
    Ok(Settings {
        tree,
        districts: Arc::new(region.district_names()),
        ..db.read(stored).await?
    })
}

/// The editable settings alone (no tree, no districts): enough for the time limits.
pub fn stored(c: &mut dyn Conn) -> Result<Settings, DbError> {
    let mut s = Settings::default();
    for r in c.query("SELECT name, value FROM hotline_settings WHERE name IN ('categories', 'routing', 'limits')", &[])? {
        let v = r.get_str("value")?;
        let err = |e: serde_json::Error| DbError::Decode(format!("hotline setting: {e}"));
        match r.get_str("name")?.as_str() {
            "categories" => s.categories = serde_json::from_str(&v).map_err(err)?,
            "routing" => s.routing = serde_json::from_str(&v).map_err(err)?,
            "limits" => s.limits = serde_json::from_str(&v).map_err(err)?,
            _ => {}
        }
    }
    Ok(s)
}

/// Store a validated configuration.
pub fn save(c: &mut dyn Conn, s: &Settings, now: i64) -> Result<(), DbError> {
    let enc = |v: serde_json::Result<String>| v.map_err(|e| DbError::Decode(e.to_string()));
    for (name, value) in [
        ("categories", enc(serde_json::to_string(&s.categories))?),
        ("routing", enc(serde_json::to_string(&s.routing))?),
        ("limits", enc(serde_json::to_string(&s.limits))?),
    ] {
        c.execute(
            "INSERT INTO hotline_settings (name, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![name, value, now],
        )?;
    }
    Ok(())
}

/// Replace the configuration as a whole (validated against the known departments), audited.
pub async fn replace(
    ctx: &tongban_platform::Ctx,
    staff: &tongban_platform::identity::Staff,
    s: Settings,
) -> Result<Settings, HotlineError> {
    let depts: Vec<String> = ctx
        .db
        .read(tongban_platform::identity::list_departments)
        .await?
        .into_iter()
        .map(|d| d.code)
        .collect();
    // The region's tree and districts, which the JSON sent does not carry.
    let current = current(&ctx.db).await?;
    let s = Settings {
        tree: current.tree,
        districts: current.districts,
        ..s
    };
    s.validate(&depts)?;
    let staff = staff.clone();
    let source = tongban_platform::audit::current_source();
    let s2 = s.clone();
    ctx.db
        .write(move |c| {
            save(c, &s2, tongban_platform::time::now_millis())?;
            let mut e = tongban_platform::audit::Entry::staff(
                &staff,
                "hotline.settings",
                "hotline_settings",
                "ok",
            );
            e.source = source;
            tongban_platform::audit::append(c, &e)
        })
        .await?;
    Ok(s)
}
