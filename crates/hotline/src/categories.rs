//! The work-order category tree and routing rules, as the region's data: categories of any
//! depth (`categories.csv`: code, name, parent, keywords) and rules (`routing.csv`: category,
//! division, department) — each (category, district) goes to a department, the most specific
//! rule winning. Loaded with the region (`tongban region import DIR`); a category left out
//! of a later import is retired (old orders keep its name).

use crate::settings::RouteRule;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tongban_platform::db::{Conn, Db, DbError};
use tongban_platform::params;
use tongban_platform::region::files::{code_ok, RegionFiles, Source, Table};
use tongban_platform::region::Level;

/// What writes to the tree announce.
pub const TOPIC: &str = "hotline_categories";

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Category {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    /// Words that point to it, for the operator's suggestion while typing a call.
    pub keywords: Vec<String>,
}

/// The tree in force, and the retired categories whose names old orders still show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    pub cats: Vec<Category>,
    pub retired: Vec<Category>,
    by_code: HashMap<String, usize>,
}

impl Tree {
    pub fn new(cats: Vec<Category>, retired: Vec<Category>) -> Tree {
        let by_code = cats
            .iter()
            .enumerate()
            .map(|(i, c)| (c.code.clone(), i))
            .collect();
        Tree {
            cats,
            retired,
            by_code,
        }
    }

    fn get(&self, code: &str) -> Option<&Category> {
        self.by_code.get(code).map(|i| &self.cats[*i])
    }

    /// Whether `code` is a category in force (at any depth).
    pub fn exists(&self, code: &str) -> bool {
        self.by_code.contains_key(code)
    }

    /// The name of a category, in force or retired.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.get(code)
            .or_else(|| self.retired.iter().find(|c| c.code == code))
            .map(|c| c.name.as_str())
    }

    /// The top-level categories in force.
    pub fn tops(&self) -> impl Iterator<Item = &Category> {
        self.cats.iter().filter(|c| c.parent.is_none())
    }

    /// Every category in force with its depth (0 at the top), each after its parent.
    pub fn walk(&self) -> Vec<(&Category, usize)> {
        fn visit<'a>(
            t: &'a Tree,
            parent: Option<&str>,
            depth: usize,
            out: &mut Vec<(&'a Category, usize)>,
        ) {
            for c in t.cats.iter().filter(|c| c.parent.as_deref() == parent) {
                out.push((c, depth));
                if depth < 32 {
                    visit(t, Some(&c.code), depth + 1, out);
                }
            }
        }
        let mut out = Vec::new();
        visit(self, None, 0, &mut out);
        out
    }

    /// Up to three categories whose words occur in `text`, best first.
    pub fn suggest(&self, text: &str) -> Vec<String> {
        let mut scored: Vec<(usize, usize, &str)> = self
            .cats
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let n = c
                    .keywords
                    .iter()
                    .filter(|w| text.contains(w.as_str()))
                    .count();
                (n, i, c.code.as_str())
            })
            .filter(|(n, _, _)| *n > 0)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(3)
            .map(|(_, _, c)| c.to_owned())
            .collect()
    }
}

/// Routing rules: (category code, district or `None` for any) → department code.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    rules: BTreeMap<(String, Option<String>), String>,
}

impl Routing {
    pub fn add(&mut self, category: &str, district: Option<&str>, department: &str) {
        self.rules.insert(
            (category.to_owned(), district.map(str::to_owned)),
            department.to_owned(),
        );
    }

    /// The department for an order: the most specific rule wins — the category with the
    /// district, the category, then each category above it (with the district, then
    /// without); `None` when a dispatcher must decide.
    pub fn route(&self, category: &str, district: &str) -> Option<&str> {
        let mut at = Some(category);
        while let Some(c) = at {
            for d in [Some(district), None] {
                if let Some(dept) = self.rules.get(&(c.to_owned(), d.map(str::to_owned))) {
                    return Some(dept);
                }
            }
            at = c.rsplit_once('.').map(|(parent, _)| parent);
        }
        None
    }
}

/// The top-level category of a code: a category's code is its parent's, a dot, and its own
/// part (`utility.water.quality` under `utility.water` under `utility`), so the top is the
/// part before the first dot.
pub fn top(code: &str) -> &str {
    code.split('.').next().unwrap_or(code)
}

/// The categories and routing rules of a region folder, checked against its divisions and
/// departments (`known_departments`: those already kept, beside the folder's).
pub fn read_files(
    dir: &dyn Source,
    region: &RegionFiles,
    known_departments: &[String],
    errors: &mut Vec<String>,
) -> (Vec<Category>, Vec<RouteRule>) {
    let mut cats: Vec<Category> = Vec::new();
    if let Some(t) = Table::read(
        dir,
        "categories.csv",
        &["code", "name", "parent"],
        false,
        errors,
    ) {
        let mut seen: HashMap<String, u64> = HashMap::new();
        for r in &t.rows {
            let at = format!("{} line {}", t.file, r.line);
            let code = r.get("code").to_owned();
            if !code_ok(&code) {
                errors.push(format!(
                    "{at}: a category code is 1-40 of a-z, 0-9, -, _ and ., got {code:?}"
                ));
                continue;
            }
            if let Some(first) = seen.insert(code.clone(), r.line) {
                errors.push(format!("{at}: category {code} is also on line {first}"));
                continue;
            }
            let n = r.get("name").chars().count();
            if n == 0 || n > 30 {
                errors.push(format!("{at}: the name needs 1-30 characters"));
            }
            cats.push(Category {
                code,
                name: r.get("name").to_owned(),
                parent: r.opt("parent"),
                keywords: r
                    .get("keywords")
                    .split(|c: char| c.is_whitespace() || c == '、' || c == '|')
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect(),
            });
        }
        let lines: HashMap<String, u64> = t
            .rows
            .iter()
            .map(|r| (r.get("code").to_owned(), r.line))
            .collect();
        for c in &cats {
            let line = lines.get(&c.code).copied().unwrap_or(0);
            match &c.parent {
                Some(p) if !seen.contains_key(p) || p == &c.code => errors.push(format!(
                    "{} line {line}: parent {p} is not another category in the file",
                    t.file
                )),
                Some(p) if c.code.rsplit_once('.').map(|(head, _)| head) != Some(p.as_str()) => {
                    errors.push(format!(
                        "{} line {line}: a category's code is its parent's and one more part ({p}.something), got {}",
                        t.file, c.code
                    ))
                }
                None if c.code.contains('.') => errors.push(format!(
                    "{} line {line}: a top-level code has no dot, got {}",
                    t.file, c.code
                )),
                _ => {}
            }
        }
        if cats.is_empty() {
            errors.push("categories.csv: no categories".into());
        }
    }
    let mut rules = Vec::new();
    if let Some(t) = Table::read(
        dir,
        "routing.csv",
        &["category", "department"],
        true,
        errors,
    ) {
        let mut seen = HashMap::new();
        for r in &t.rows {
            let at = format!("{} line {}", t.file, r.line);
            let category = r.get("category").to_owned();
            if !cats.iter().any(|c| c.code == category) {
                errors.push(format!(
                    "{at}: category {category:?} is not in categories.csv"
                ));
                continue;
            }
            let district = match r.opt("division") {
                None => None,
                Some(code) => match region.divisions.iter().find(|d| d.code == code) {
                    Some(d) if d.level == Level::District => Some(d.name.clone()),
                    Some(_) => {
                        errors.push(format!(
                            "{at}: division {code} is not a district or county (rules route by district)"
                        ));
                        continue;
                    }
                    None => {
                        errors.push(format!("{at}: division {code:?} is not in divisions.csv"));
                        continue;
                    }
                },
            };
            let department = r.get("department").to_owned();
            if !region.departments.iter().any(|d| d.code == department)
                && !known_departments.contains(&department)
            {
                errors.push(format!(
                    "{at}: department {department:?} is not in departments.csv"
                ));
                continue;
            }
            if let Some(first) = seen.insert((category.clone(), district.clone()), r.line) {
                errors.push(format!(
                    "{at}: the same category and division as line {first}"
                ));
                continue;
            }
            rules.push(RouteRule {
                category,
                district,
                department,
            });
        }
    }
    (cats, rules)
}

/// Save the tree in the caller's transaction: the folder's categories in force, the others
/// retired.
pub fn save(c: &mut dyn Conn, cats: &[Category], now: i64) -> Result<(), DbError> {
    c.announce(TOPIC)?;
    c.execute(
        "UPDATE hotline_categories SET retired_at = $1 WHERE retired_at IS NULL",
        params![now],
    )?;
    for (i, cat) in cats.iter().enumerate() {
        c.execute(
            "INSERT INTO hotline_categories (code, name, parent, keywords, position, retired_at)
             VALUES ($1, $2, $3, $4, $5, NULL)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent = excluded.parent,
               keywords = excluded.keywords, position = excluded.position, retired_at = NULL",
            params![
                cat.code.as_str(),
                cat.name.as_str(),
                cat.parent.as_deref(),
                cat.keywords.join(" "),
                i as i64
            ],
        )?;
    }
    Ok(())
}

/// The tree as kept (empty before the region is imported).
pub fn load(c: &mut dyn Conn) -> Result<Tree, DbError> {
    let mut cats = Vec::new();
    let mut retired = Vec::new();
    for r in c.query(
        "SELECT code, name, parent, keywords, retired_at FROM hotline_categories ORDER BY position, code",
        &[],
    )? {
        let cat = Category {
            code: r.get_str("code")?,
            name: r.get_str("name")?,
            parent: r.get_opt_str("parent")?,
            keywords: r
                .get_str("keywords")?
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        };
        if r.get_opt_i64("retired_at")?.is_some() {
            retired.push(cat);
        } else {
            cats.push(cat);
        }
    }
    Ok(Tree::new(cats, retired))
}

/// The name of category `code` (in force or retired), for other rooms' messages.
pub fn name_of(c: &mut dyn Conn, code: &str) -> Result<Option<String>, DbError> {
    c.query_opt(
        "SELECT name FROM hotline_categories WHERE code = $1",
        params![code],
    )?
    .map(|r| r.get_str("name"))
    .transpose()
}

/// The tree in force, from memory while the database has announced no change.
pub async fn current(db: &Db) -> Result<Arc<Tree>, DbError> {
    tongban_platform::db::snapshot::current(db, load).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(code: &str, name: &str, parent: Option<&str>, words: &[&str]) -> Category {
        Category {
            code: code.into(),
            name: name.into(),
            parent: parent.map(Into::into),
            keywords: words.iter().map(|w| w.to_string()).collect(),
        }
    }

    fn tree() -> Tree {
        Tree::new(
            vec![
                cat("utility", "公用事业", None, &[]),
                cat("utility.water", "供水", Some("utility"), &["停水", "水压"]),
                cat(
                    "utility.water.quality",
                    "水质",
                    Some("utility.water"),
                    &["水质", "浑浊"],
                ),
                cat("city", "城市管理", None, &[]),
                cat("city.noise", "噪声扰民", Some("city"), &["噪音", "吵"]),
            ],
            vec![cat("old", "旧类别", None, &[])],
        )
    }

    #[test]
    fn a_tree_of_any_depth() {
        let t = tree();
        assert_eq!(top("utility.water.quality"), "utility");
        assert_eq!(top("city"), "city");
        assert_eq!(t.name("old"), Some("旧类别"));
        assert!(!t.exists("old") && t.exists("utility.water.quality"));
        let depths: Vec<usize> = t.walk().iter().map(|(_, d)| *d).collect();
        assert_eq!(depths, [0, 1, 2, 0, 1]);
        assert_eq!(t.suggest("停水了，水质浑浊")[0], "utility.water.quality");
        assert!(t.suggest("你好").is_empty());
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let mut r = Routing::default();
        r.add("utility", None, "d-util");
        r.add("utility.water", None, "d-water");
        r.add("utility.water", Some("东区"), "d-water-east");
        r.add("city", Some("西区"), "d-city-west");
        assert_eq!(
            r.route("utility.water.quality", "东区"),
            Some("d-water-east")
        );
        assert_eq!(r.route("utility.water.quality", "南区"), Some("d-water"));
        assert_eq!(r.route("utility", "南区"), Some("d-util"));
        assert_eq!(r.route("city.noise", "西区"), Some("d-city-west"));
        assert_eq!(r.route("city.noise", "东区"), None, "a dispatcher decides");
    }
}
