//! Rooms talk through front doors: no crate names another room's tables or indexes in SQL.
//! The owners are read from each room's migrations; the SQL is read from each crate's sources
//! (every `FROM`, `JOIN`, `INTO`, `UPDATE` and `INDEXED BY`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CRATES: [&str; 9] = [
    "platform", "web", "catalog", "cases", "hotline", "insight", "exchange", "identity", "server",
];

/// Shared reference data every room may join for names, until the region room owns it.
const SHARED: [&str; 1] = ["departments"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf()
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

fn words(text: &str) -> Vec<&str> {
    text.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Table and index name → the room whose migrations create it.
fn owners() -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for krate in CRATES {
        let mut sql = Vec::new();
        files(&root().join(krate).join("migrations"), "sql", &mut sql);
        for f in sql {
            let text = std::fs::read_to_string(&f).expect("migration");
            let w = words(&text);
            for i in 0..w.len() {
                let name = match w[i] {
                    "TABLE" => w.get(i + 1),
                    "INDEX" if w.get(i + 1) == Some(&"IF") => w.get(i + 4),
                    "INDEX" => w.get(i + 1),
                    _ => None,
                };
                if let Some(n) = name.filter(|n| {
                    n.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                }) {
                    out.entry((*n).to_owned()).or_insert(krate);
                }
            }
        }
    }
    out
}

/// (file, name) for every table or index of another room that `text` names in SQL.
fn foreign(krate: &str, text: &str, owners: &BTreeMap<String, &'static str>) -> Vec<String> {
    let w = words(text);
    let mut out = Vec::new();
    for i in 0..w.len() {
        let name = match w[i] {
            "FROM" | "JOIN" | "INTO" | "UPDATE" => w.get(i + 1),
            "INDEXED" if w.get(i + 1) == Some(&"BY") => w.get(i + 2),
            _ => None,
        };
        let Some(name) = name else { continue };
        if let Some(owner) = owners.get(*name) {
            if *owner != krate && !SHARED.contains(name) {
                out.push(format!("{name} (owned by {owner})"));
            }
        }
    }
    out
}

#[test]
fn no_room_names_another_rooms_tables() {
    let owners = owners();
    // The scan knows the rooms' tables and indexes, or it would find nothing.
    for (name, owner) in [
        ("cases", "cases"),
        ("work_orders", "hotline"),
        ("matters", "catalog"),
        ("insight_docs", "insight"),
        ("accounts", "platform"),
        ("cases_open_deadline", "cases"),
    ] {
        assert_eq!(owners.get(name).copied(), Some(owner), "owner of {name}");
    }
    // It flags what it should.
    assert_eq!(
        foreign(
            "insight",
            "c.query(\"SELECT * FROM work_orders o JOIN matters m\")",
            &owners
        ),
        vec![
            "work_orders (owned by hotline)",
            "matters (owned by catalog)"
        ]
    );
    assert!(foreign(
        "insight",
        "SELECT n FROM insight_docs JOIN departments",
        &owners
    )
    .is_empty());

    let mut found = Vec::new();
    let mut own = 0;
    for krate in CRATES {
        let mut sources = Vec::new();
        files(&root().join(krate).join("src"), "rs", &mut sources);
        for f in sources {
            let text = std::fs::read_to_string(&f).expect("source");
            for hit in foreign(krate, &text, &owners) {
                found.push(format!("{}: {hit}", f.display()));
            }
            own += words(&text)
                .windows(2)
                .filter(|w| {
                    matches!(w[0], "FROM" | "JOIN") && owners.get(w[1]).is_some_and(|o| *o == krate)
                })
                .count();
        }
    }
    assert!(
        own > 100,
        "the scan read the rooms' own SQL ({own} references)"
    );
    assert!(
        found.is_empty(),
        "these name another room's tables; go through its functions, `stats` door or change feed:\n{}",
        found.join("\n")
    );
}

/// Forms arrive as typed structs through `SafeForm` / `SafeMultipart`, which check the
/// anti-forgery token: no handler reads a form as a map or checks a token by hand.
#[test]
fn forms_arrive_through_the_one_extractor() {
    let mut found = Vec::new();
    let mut extractors = 0;
    for krate in CRATES {
        let mut sources = Vec::new();
        files(&root().join(krate).join("src"), "rs", &mut sources);
        for f in sources {
            let text = std::fs::read_to_string(&f).expect("source");
            let home = f.ends_with("web/src/form.rs") || f.ends_with("web/src/page.rs");
            extractors +=
                text.matches("SafeForm(").count() + text.matches("SafeMultipart(").count();
            for bad in ["Form<HashMap", "axum::Form", "use axum::{Form", ".csrf_ok("] {
                if text.contains(bad) && !home {
                    found.push(format!("{}: {bad}", f.display()));
                }
            }
        }
    }
    assert!(extractors >= 25, "the scan sees the forms ({extractors})");
    assert!(
        found.is_empty(),
        "forms outside the extractor:\n{}",
        found.join("\n")
    );
}

/// Transactions return the room's own error: no `Result<Result<…>>` anywhere.
#[test]
fn no_nested_results() {
    let mut found = Vec::new();
    for krate in CRATES {
        let mut sources = Vec::new();
        files(&root().join(krate).join("src"), "rs", &mut sources);
        for f in sources {
            let text = std::fs::read_to_string(&f).expect("source");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("Result<Result<")
                    || code.contains("Ok(Err(")
                    || code.contains("Ok(Ok(")
                {
                    found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "nested results:\n{}", found.join("\n"));
}

/// Each room has one error enum (thiserror) mapped to status and code in one place.
#[test]
fn each_room_has_its_error_enum() {
    for (krate, name) in [
        ("cases", "CaseError"),
        ("catalog", "CatalogError"),
        ("hotline", "HotlineError"),
        ("insight", "InsightError"),
    ] {
        let text = std::fs::read_to_string(root().join(krate).join("src/error.rs"))
            .unwrap_or_else(|_| panic!("{krate} has no src/error.rs"));
        assert!(
            text.contains("#[derive(Debug, thiserror::Error)]")
                && text.contains(&format!("pub enum {name}"))
                && text.contains(&format!("impl From<{name}> for ApiError")),
            "{krate}: one thiserror enum {name} with one mapping to ApiError"
        );
    }
}

/// No Wuxi district name is left in the code of the crates (the demo region is data).
#[test]
fn no_wuxi_place_names_in_code() {
    const NAMES: [&str; 8] = [
        "梁溪区",
        "锡山区",
        "惠山区",
        "滨湖区",
        "新吴区",
        "江阴市",
        "宜兴市",
        "无锡",
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                // Only the crates' own code: `src`, never their tests or data.
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if ![
                    "tests",
                    "target",
                    "data",
                    "migrations",
                    "templates",
                    "i18n",
                    "static",
                ]
                .contains(&name.as_str())
                {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.components().any(|c| c.as_os_str() == "src")
            {
                let text = std::fs::read_to_string(&p).unwrap();
                for n in NAMES {
                    if text.contains(n) {
                        found.push(format!("{}: {n}", p.display()));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}
