//! The sites of the website group (网站群): the portal and any number of department and
//! district sites, each owned by a department, with its columns (栏目), an optional host name
//! of its own and a logo. A city's sites are data: `tongban sites load FILE` (JSON) or the
//! staff API, never code.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::RwLock;
use tongban_platform::audit::{self, Entry};
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{params, ApiError, Ctx};

pub const KINDS: [&str; 3] = ["portal", "department", "district"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub code: String,
    /// portal, department or district.
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    /// The owner: its site editors and reviewers act on the site.
    pub department: String,
    /// A host name of its own (`gaj.wuxi.gov.cn`), served at `/` of that host.
    #[serde(default)]
    pub host: Option<String>,
    /// The department's 索引号 scheme: `{year}` and `{seq}` (five digits) are filled at
    /// publication, e.g. `01401447X/{year}-{seq}`.
    pub index_scheme: String,
    #[serde(default)]
    pub position: i64,
    pub columns: Vec<Column>,
    /// Site editors and reviewers of the owner assigned to this site (usernames). Staff
    /// assigned to some site act only on the sites they are assigned to; the others on
    /// every site of their department.
    #[serde(default)]
    pub staff: Vec<String>,
    /// The logo's blob key, when one was uploaded (read-only here).
    #[serde(default, skip_deserializing)]
    pub logo: Option<String>,
    #[serde(default, skip_deserializing)]
    pub department_name: String,
}

fn code_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Site {
    /// Every problem with the site as sent, to fix before it is saved.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut bad = Vec::new();
        if !code_ok(&self.code) {
            bad.push("code: use 1–40 lowercase letters, digits, '-' or '_'".to_owned());
        }
        if !KINDS.contains(&self.kind.as_str()) {
            bad.push(format!("kind: one of {}", KINDS.join(", ")));
        }
        let name_len = self.name.trim().chars().count();
        if name_len == 0 || name_len > 60 {
            bad.push("name: 1–60 characters".to_owned());
        }
        if let Some(h) = &self.host {
            let ok = !h.is_empty()
                && h.len() <= 253
                && h.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !ok {
                bad.push(
                    "host: a lowercase host name without port, like gaj.example.gov.cn".into(),
                );
            }
        }
        if !self.index_scheme.contains("{seq}") || self.index_scheme.len() > 60 {
            bad.push(
                "index_scheme: at most 60 characters with {seq} (and usually {year}), like 01401447X/{year}-{seq}"
                    .into(),
            );
        }
        if self.columns.is_empty() || self.columns.len() > 50 {
            bad.push("columns: 1–50 columns".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.columns.iter().enumerate() {
            if !code_ok(&c.code) {
                bad.push(format!(
                    "columns[{i}].code: 1–40 lowercase letters, digits, '-' or '_'"
                ));
            }
            if !seen.insert(c.code.as_str()) {
                bad.push(format!("columns[{i}].code: {} appears twice", c.code));
            }
            let n = c.name.trim().chars().count();
            if n == 0 || n > 30 {
                bad.push(format!("columns[{i}].name: 1–30 characters"));
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad)
        }
    }

    pub fn column(&self, code: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.code == code)
    }

    /// The 索引号 of the `seq`-th article of `year`.
    pub fn index_no(&self, year: i32, seq: i64) -> String {
        self.index_scheme
            .replace("{year}", &year.to_string())
            .replace("{seq}", &format!("{seq:05}"))
    }
}

fn site_from(r: &Row) -> Result<Site, DbError> {
    Ok(Site {
        code: r.get_str("code")?,
        kind: r.get_str("kind")?,
        name: r.get_str("name")?,
        name_en: r.get_str("name_en")?,
        department: r.get_str("department_code")?,
        host: r.get_opt_str("host")?,
        index_scheme: r.get_str("index_scheme")?,
        position: r.get_i64("position")?,
        columns: Vec::new(),
        staff: Vec::new(),
        logo: r.get_opt_str("logo")?,
        department_name: r.get_opt_str("dname")?.unwrap_or_default(),
    })
}

const SELECT: &str =
    "SELECT s.code, s.kind, s.name, s.name_en, s.department_code, s.host, s.index_scheme,
        s.position, s.logo, d.name AS dname
 FROM sites s LEFT JOIN departments d ON d.code = s.department_code";

fn with_columns(c: &mut dyn Conn, mut sites: Vec<Site>) -> Result<Vec<Site>, DbError> {
    let rows = c.query(
        "SELECT site_code, code, name, name_en FROM site_columns ORDER BY site_code, position",
        &[],
    )?;
    let mut by: HashMap<String, Vec<Column>> = HashMap::new();
    for r in &rows {
        by.entry(r.get_str("site_code")?).or_default().push(Column {
            code: r.get_str("code")?,
            name: r.get_str("name")?,
            name_en: r.get_str("name_en")?,
        });
    }
    let mut staff: HashMap<String, Vec<String>> = HashMap::new();
    for r in &c.query(
        "SELECT site_code, username FROM site_staff ORDER BY site_code, username",
        &[],
    )? {
        staff
            .entry(r.get_str("site_code")?)
            .or_default()
            .push(r.get_str("username")?);
    }
    for s in &mut sites {
        s.columns = by.remove(&s.code).unwrap_or_default();
        s.staff = staff.remove(&s.code).unwrap_or_default();
    }
    Ok(sites)
}

/// Every site, the portal first, then by position.
pub fn list(c: &mut dyn Conn) -> Result<Vec<Site>, DbError> {
    let rows = c.query(
        &format!(
            "{SELECT} ORDER BY CASE WHEN s.kind = 'portal' THEN 0 ELSE 1 END, s.position, s.code"
        ),
        &[],
    )?;
    let sites = rows.iter().map(site_from).collect::<Result<Vec<_>, _>>()?;
    with_columns(c, sites)
}

pub fn get(c: &mut dyn Conn, code: &str) -> Result<Option<Site>, DbError> {
    let Some(r) = c.query_opt(&format!("{SELECT} WHERE s.code = $1"), params![code])? else {
        return Ok(None);
    };
    let site = site_from(&r)?;
    Ok(with_columns(c, vec![site])?.pop())
}

/// The site a department owns (its 政务公开 pages live there), the first by position.
pub fn of_department(c: &mut dyn Conn, department: &str) -> Result<Option<Site>, DbError> {
    let Some(r) = c.query_opt(
        &format!("{SELECT} WHERE s.department_code = $1 ORDER BY s.position, s.code LIMIT 1"),
        params![department],
    )?
    else {
        return Ok(None);
    };
    let site = site_from(&r)?;
    Ok(with_columns(c, vec![site])?.pop())
}

/// Save a site whole (columns replaced; a column that still has articles cannot go).
/// Whether it was new.
pub fn save(c: &mut dyn Conn, s: &Site, now: i64) -> Result<bool, SaveError> {
    s.check().map_err(SaveError::Invalid)?;
    if tongban_platform::identity::get_department(c, &s.department)?.is_none() {
        return Err(SaveError::Invalid(vec![format!(
            "department: no department {}",
            s.department
        )]));
    }
    for u in &s.staff {
        let ok = tongban_platform::identity::staff_credentials(c, u)?.is_some_and(|x| {
            x.staff.department.code == s.department
                && (x.staff.has(Role::SiteEditor) || x.staff.has(Role::SiteReviewer))
        });
        if !ok {
            return Err(SaveError::Invalid(vec![format!(
                "staff: {u} is no site editor or reviewer of {}",
                s.department
            )]));
        }
    }
    let existed = c
        .query_opt(
            "SELECT code FROM sites WHERE code = $1",
            params![s.code.as_str()],
        )?
        .is_some();
    let kept: Vec<&str> = s.columns.iter().map(|x| x.code.as_str()).collect();
    for r in c.query(
        "SELECT DISTINCT column_code FROM articles WHERE site_code = $1",
        params![s.code.as_str()],
    )? {
        let col = r.get_str("column_code")?;
        if !kept.contains(&col.as_str()) {
            return Err(SaveError::Invalid(vec![format!(
                "columns: {col} still has articles; move or keep it"
            )]));
        }
    }
    let host = s.host.clone();
    c.execute(
        "INSERT INTO sites (code, kind, name, name_en, department_code, host, index_scheme, position, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (code) DO UPDATE SET kind = excluded.kind, name = excluded.name,
           name_en = excluded.name_en, department_code = excluded.department_code,
           host = excluded.host, index_scheme = excluded.index_scheme,
           position = excluded.position, updated_at = excluded.updated_at",
        params![
            s.code.as_str(),
            s.kind.as_str(),
            s.name.trim(),
            s.name_en.trim(),
            s.department.as_str(),
            host,
            s.index_scheme.as_str(),
            s.position,
            now
        ],
    )
    .map_err(|e| match e {
        DbError::Unique(_) => SaveError::Invalid(vec!["host: another site has this host name".into()]),
        e => SaveError::Db(e),
    })?;
    c.execute(
        "DELETE FROM site_columns WHERE site_code = $1",
        params![s.code.as_str()],
    )?;
    c.execute(
        "DELETE FROM site_staff WHERE site_code = $1",
        params![s.code.as_str()],
    )?;
    for u in &s.staff {
        c.execute(
            "INSERT INTO site_staff (site_code, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            params![s.code.as_str(), u.as_str()],
        )?;
    }
    for (i, col) in s.columns.iter().enumerate() {
        c.execute(
            "INSERT INTO site_columns (site_code, code, name, name_en, position) VALUES ($1, $2, $3, $4, $5)",
            params![s.code.as_str(), col.code.as_str(), col.name.trim(), col.name_en.trim(), i as i64],
        )?;
    }
    Ok(!existed)
}

/// The sites `username` is assigned to (empty: not limited to any).
pub fn assigned(c: &mut dyn Conn, username: &str) -> Result<Vec<String>, DbError> {
    c.query(
        "SELECT site_code FROM site_staff WHERE username = $1",
        params![username],
    )?
    .iter()
    .map(|r| r.get_str("site_code"))
    .collect()
}

/// Whether `staff` may act as `role` on `site`: the role, in the owning department, and
/// assigned to this site when assigned to any (`assigned`, from [`assigned`]).
pub fn may(
    staff: &tongban_platform::identity::Staff,
    role: Role,
    site: &Site,
    assigned: &[String],
) -> bool {
    staff.has(role)
        && staff.department.code == site.department
        && (assigned.is_empty() || assigned.contains(&site.code))
}

/// Keep a new logo (a blob key of the re-encoded picture).
pub fn set_logo(c: &mut dyn Conn, code: &str, blob: &str, now: i64) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE sites SET logo = $1, updated_at = $2 WHERE code = $3",
        params![blob, now, code],
    )? > 0)
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("no site {0}")]
    NoSite(String),
    #[error("{0}")]
    BadLogo(String),
    #[error("{0}")]
    Storage(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<SaveError> for ApiError {
    fn from(e: SaveError) -> Self {
        match e {
            SaveError::Invalid(v) => ApiError::unprocessable("invalid_site", v.join("; "))
                .with_fields(serde_json::json!({ "problems": v })),
            SaveError::Forbidden(m) => ApiError::forbidden(m),
            SaveError::NoSite(code) => {
                ApiError::not_found("no_such_site", format!("no site {code}"))
            }
            SaveError::BadLogo(m) => ApiError::unprocessable("bad_logo", m),
            SaveError::Storage(m) => {
                tracing::error!(error = %m, "cannot store a logo");
                ApiError::internal()
            }
            SaveError::Db(d) => d.into(),
        }
    }
}

/// Whether `staff` administers the department `department`, the owner of a site: only such an
/// administrator saves the site or changes its logo.
pub fn administers(staff: &Staff, department: &str) -> bool {
    staff.has(Role::Admin) && staff.department.code == department
}

/// Save `s` whole for `staff`, an administrator of the department owning it before and after
/// (refusals audited too); this node's host map follows at once. Whether the site is new.
pub async fn save_as(ctx: &Ctx, staff: &Staff, s: Site) -> Result<bool, SaveError> {
    let code = s.code.clone();
    let before = ctx.db.read(move |c| get(c, &code)).await?;
    if !administers(staff, &s.department)
        || before
            .as_ref()
            .is_some_and(|b| !administers(staff, &b.department))
    {
        audit::record(&ctx.db, Entry::staff(staff, "site.save", &s.code, "denied")).await;
        return Err(SaveError::Forbidden(
            "only an administrator of the department that owns the site saves it",
        ));
    }
    let now = tongban_platform::time::now_millis();
    let entry = Entry::staff(staff, "site.save", &s.code, "ok");
    let db = ctx.db.clone();
    ctx.db
        .transact(move |c| -> Result<bool, SaveError> {
            let created = save(c, &s, now)?;
            audit::append(c, &entry)?;
            refresh_hosts(&db, c)?;
            Ok(created)
        })
        .await
}

/// The largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 2 * 1024 * 1024;

/// A new logo for site `code` from `staff`, an administrator of its department: a JPEG, PNG or
/// GIF picture, decoded and encoded again without metadata, stored as a blob, audited. The
/// logo's public address.
pub async fn set_logo_as(
    ctx: &Ctx,
    staff: &Staff,
    code: &str,
    body: Vec<u8>,
) -> Result<String, SaveError> {
    let code2 = code.to_owned();
    let site = ctx
        .db
        .read(move |c| get(c, &code2))
        .await?
        .ok_or_else(|| SaveError::NoSite(code.to_owned()))?;
    if !administers(staff, &site.department) {
        audit::record(&ctx.db, Entry::staff(staff, "site.logo", code, "denied")).await;
        return Err(SaveError::Forbidden(
            "only an administrator of the department that owns the site changes its logo",
        ));
    }
    if body.len() > MAX_LOGO_BYTES {
        return Err(SaveError::BadLogo("a logo may be at most 2 MB".into()));
    }
    let (bytes, _) =
        tokio::task::spawn_blocking(move || tongban_platform::images::without_metadata(&body))
            .await
            .map_err(|e| SaveError::Storage(e.to_string()))?
            .map_err(|e| SaveError::BadLogo(format!("send a JPEG, PNG or GIF picture: {e}")))?;
    let dir = ctx.config.upload_dir.clone();
    let blob = tokio::task::spawn_blocking(move || tongban_platform::blobs::put(&dir, &bytes))
        .await
        .map_err(|e| SaveError::Storage(e.to_string()))?
        .map_err(|e| SaveError::Storage(e.to_string()))?;
    let now = tongban_platform::time::now_millis();
    let entry = Entry::staff(staff, "site.logo", code, "ok");
    let code2 = code.to_owned();
    ctx.db
        .write(move |c| {
            set_logo(c, &code2, &blob, now)?;
            audit::append(c, &entry)
        })
        .await?;
    Ok(format!("/sites/{}/logo", site.code))
}

/// This node's map of host names to sites, refreshed by the worker and on every save.
#[derive(Default)]
pub struct Hosts(RwLock<HashMap<String, String>>);

/// Refresh this node's host map.
pub fn refresh_hosts(db: &tongban_platform::db::Db, c: &mut dyn Conn) -> Result<(), DbError> {
    let rows = c.query("SELECT code, host FROM sites WHERE host IS NOT NULL", &[])?;
    let mut m = HashMap::new();
    for r in &rows {
        m.insert(r.get_str("host")?, r.get_str("code")?);
    }
    if let Ok(mut g) = db.local::<Hosts>().0.write() {
        *g = m;
    }
    Ok(())
}

/// The site served at `/` of `host` (port ignored).
pub fn by_host(db: &tongban_platform::db::Db, host: &str) -> Option<String> {
    let name = host
        .rsplit_once(':')
        .map_or(host, |(h, _)| h)
        .to_ascii_lowercase();
    db.local::<Hosts>().0.read().ok()?.get(&name).cloned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFile {
    sites: Vec<Site>,
}

/// Load sites from a JSON file (`{"sites": [...]}`), all or nothing; how many.
pub fn load_json(c: &mut dyn Conn, text: &str, now: i64) -> Result<usize, SaveError> {
    let f: SiteFile = serde_json::from_str(text)
        .map_err(|e| SaveError::Invalid(vec![format!("not a site file: {e}")]))?;
    for s in &f.sites {
        save(c, s, now).map_err(|e| match e {
            SaveError::Invalid(v) => {
                SaveError::Invalid(v.into_iter().map(|m| format!("{}: {m}", s.code)).collect())
            }
            e => e,
        })?;
    }
    Ok(f.sites.len())
}

/// The demo city's sites (`data/demo_sites.json`).
pub const DEMO: &str = include_str!("../data/demo_sites.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_sites_are_valid_and_number_as_their_scheme_says() {
        let f: SiteFile = serde_json::from_str(DEMO).unwrap();
        assert!(f.sites.len() >= 3);
        for s in &f.sites {
            s.check().unwrap();
        }
        let mut s = f.sites[0].clone();
        s.index_scheme = "01401447X/{year}-{seq}".into();
        assert_eq!(s.index_no(2026, 12), "01401447X/2026-00012");
        s.host = Some("Bad Host:80".into());
        s.columns.push(s.columns[0].clone());
        let bad = s.check().unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
    }
}
