//! `tongban region import DIR`: a city as a folder of files, loaded all or nothing. The
//! platform reads the divisions, departments, halls and boundaries; the hotline reads its
//! category tree and routing rules; both are written in one transaction, audited. The Wuxi
//! demo is such a folder (`data/regions/wuxi`), built into the binary for `tongban demo`.

use tongban_platform::db::{Db, DbError};
use tongban_platform::region::files::{self, Embedded, Source};

/// The Wuxi demo region, as shipped in `data/regions/wuxi`.
pub const WUXI: Embedded = Embedded(&[
    (
        "region.toml",
        include_str!("../../../data/regions/wuxi/region.toml"),
    ),
    (
        "divisions.csv",
        include_str!("../../../data/regions/wuxi/divisions.csv"),
    ),
    (
        "departments.csv",
        include_str!("../../../data/regions/wuxi/departments.csv"),
    ),
    (
        "categories.csv",
        include_str!("../../../data/regions/wuxi/categories.csv"),
    ),
    (
        "routing.csv",
        include_str!("../../../data/regions/wuxi/routing.csv"),
    ),
    (
        "places.txt",
        include_str!("../../../data/regions/wuxi/places.txt"),
    ),
]);

/// What an import loaded.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub name: String,
    pub divisions: usize,
    pub retired: usize,
    pub departments: usize,
    pub halls: usize,
    pub boundaries: usize,
    pub categories: usize,
    pub rules: usize,
}

/// Read, check and store a region: every problem by file and line, nothing stored while
/// there is any. The import is audited (`region.import`) unless it sets up the demo.
pub fn import(db: &Db, src: &dyn Source) -> Result<Imported, Vec<String>> {
    import_as(db, src, true)
}

fn import_as(db: &Db, src: &dyn Source, audited: bool) -> Result<Imported, Vec<String>> {
    let (region, mut errors) = files::read_checked(src);
    let known: Vec<String> = db
        .write_blocking(|c| tongban_platform::identity::list_departments(c))
        .map_err(|e| vec![format!("cannot read the departments: {e}")])?
        .into_iter()
        .map(|d| d.code)
        .collect();
    let (categories, rules) =
        tongban_hotline::categories::read_files(src, &region, &known, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut summary = Imported {
        name: region.meta.name.clone(),
        divisions: region.divisions.len(),
        departments: region.departments.len(),
        halls: region.halls.len(),
        boundaries: region.boundaries.len(),
        categories: categories.len(),
        rules: rules.len(),
        ..Imported::default()
    };
    let detail = format!(
        "{}: {} divisions, {} departments, {} categories, {} rules",
        region.meta.name,
        region.divisions.len(),
        region.departments.len(),
        categories.len(),
        rules.len()
    );
    let now = tongban_platform::time::now_millis();
    let retired = db
        .write_blocking(move |c| {
            let kept = tongban_platform::region::load(c)?;
            let before: std::collections::HashSet<String> =
                kept.divisions.iter().map(|d| d.code.clone()).collect();
            // Districts the folder renames (same code, another name): their history follows.
            let renamed: Vec<(String, String)> = region
                .divisions
                .iter()
                .filter(|d| d.level == tongban_platform::region::Level::District)
                .filter_map(|d| {
                    kept.divisions
                        .iter()
                        .chain(&kept.retired)
                        .find(|k| k.code == d.code && k.name != d.name)
                        .map(|k| (k.name.clone(), d.name.clone()))
                })
                .collect();
            tongban_platform::region::store::save(c, &region, now)?;
            for (old, new) in &renamed {
                tongban_hotline::orders::rename_district(c, old, new)?;
                tongban_insight::renames::rename_district(c, old, new)?;
            }
            tongban_hotline::categories::save(c, &categories, now)?;
            let mut s = tongban_hotline::settings::load(c)?;
            s.routing = rules;
            tongban_hotline::settings::save(c, &s, now)?;
            if audited {
                let e = tongban_platform::audit::Entry::operator("region.import", "", "ok")
                    .with_detail(detail);
                tongban_platform::audit::append(c, &e)?;
            }
            Ok::<usize, DbError>(
                before
                    .iter()
                    .filter(|code| !region.divisions.iter().any(|d| &&d.code == code))
                    .count(),
            )
        })
        .map_err(|e| vec![format!("cannot store the region: {e}")])?;
    summary.retired = retired;
    Ok(summary)
}

/// Set up the demo region (not audited: it is part of the demo's making, like its past).
pub fn import_demo(db: &Db) -> Result<Imported, Vec<String>> {
    import_as(db, &WUXI, false)
}

/// Whether a region has been imported into the database.
pub fn present(db: &Db) -> Result<bool, DbError> {
    db.write_blocking(tongban_platform::region::store::loaded)
}
