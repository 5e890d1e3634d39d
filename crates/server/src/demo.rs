//! Demo data: the demo region (`data/regions/wuxi`), its catalogue, one staff account per
//! department holding every role, and one citizen, so that a newcomer can walk the whole loop
//! at once.

use tongban_platform::crypto::hash_password;
use tongban_platform::db::{Db, DbError};
use tongban_platform::identity::{self, NewCitizen, NewStaff, Role};

/// Password of every demo account (printed by `tongban demo`).
pub const DEMO_PASSWORD: &str = "Tongban-2026";
/// The demo citizen: 张三, an ID number of the demo region with a valid check digit.
pub const DEMO_CITIZEN_ID: &str = "320213199003071233";
pub const DEMO_CITIZEN_PHONE: &str = "13912345678";

pub struct Seeded {
    pub matters: usize,
    /// (username, department or note, otpauth URI for accounts with a second factor).
    pub staff: Vec<(String, String, Option<String>)>,
}

/// Seed the demo into an empty database; does nothing when matters already exist.
/// Per department: `xxx` handles cases and work orders (clerk, reviewer, approver, handler)
/// and `xxx-admin` keeps the catalogue (admin, with a TOTP second factor as admin roles
/// require). Plus an auditor, and the hotline centre's dispatcher, supervisor and editor.
pub fn seed(db: &Db) -> Result<Option<Seeded>, String> {
    if !crate::region::present(db).map_err(|e| format!("cannot read the region: {e}"))? {
        crate::region::import_demo(db).map_err(|e| format!("the demo region: {}", e.join("; ")))?;
    }
    let region = db
        .write_blocking(tongban_platform::region::load)
        .map_err(|e| format!("cannot read the region: {e}"))?;
    let region_name = region.meta.name.clone();
    let matters = tongban_catalog::exchange::demo().map_err(|e| e.join("; "))?;
    let certificate_types = tongban_exchange::certificates::demo_types()?;
    let hash = hash_password(DEMO_PASSWORD)?;
    let citizen_id = demo_citizen_id();
    db.write_blocking(move |c| {
        let existing = tongban_catalog::stats::matter_count(c)?;
        if existing > 0 {
            return Ok(None);
        }
        tongban_catalog::store::save(c, &matters)?;
        // Approving the birth registration issues its e-certificate.
        let now = tongban_platform::time::now_millis();
        for t in &certificate_types {
            tongban_exchange::certificates::save_type(c, t, now)?;
        }
        // 民政局 shares marriage records: 生育登记 and 出生登记 take them instead of a scan.
        tongban_exchange::demo::seed(c, &citizen_id, now).map_err(|e| {
            tongban_platform::db::DbError::Decode(format!("demo data sharing: {e}"))
        })?;
        // The website group: the portal, two department sites and a district site.
        tongban_portal::seed_demo(c, now).map_err(tongban_platform::db::DbError::Decode)?;
        let mut staff = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for m in &matters {
            if !seen.insert(m.department.code.clone()) {
                continue;
            }
            let short = m.department.code.trim_start_matches("wx-").to_owned();
            let dept_name = m.department.name.trim_start_matches(region_name.as_str());
            identity::insert_staff(
                c,
                &NewStaff {
                    username: &short,
                    name: &format!("{dept_name}工作人员"),
                    department_code: &m.department.code,
                    roles: &[Role::Clerk, Role::Reviewer, Role::Approver, Role::Handler],
                    password_hash: &hash,
                    totp_secret: None,
                },
            )?;
            staff.push((short.clone(), m.department.name.clone(), None));
            let admin = format!("{short}-admin");
            let secret = tongban_platform::totp::new_secret();
            identity::insert_staff(
                c,
                &NewStaff {
                    username: &admin,
                    name: &format!("{dept_name}管理员"),
                    department_code: &m.department.code,
                    roles: &[Role::Admin],
                    password_hash: &hash,
                    totp_secret: Some(&secret),
                },
            )?;
            let uri = tongban_platform::totp::uri("Tongban", &admin, &secret);
            staff.push((admin, m.department.name.clone(), Some(uri)));
        }
        // A separate auditor (separation of duties): reads the audit log, nothing else.
        if let Some(first) = matters.first() {
            identity::insert_staff(
                c,
                &NewStaff {
                    username: "auditor",
                    name: "审计员",
                    department_code: &first.department.code,
                    roles: &[Role::Auditor],
                    password_hash: &hash,
                    totp_secret: None,
                },
            )?;
            staff.push((
                "auditor".to_owned(),
                "审计（只读审计日志）".to_owned(),
                None,
            ));
        }
        // The 12345 hotline centre (the region names it): an operator/dispatcher, a
        // supervisor and an editor.
        let hotline = region.meta.hotline_department.clone();
        let hotline = if identity::get_department(c, &hotline)?.is_some() {
            hotline
        } else {
            matters
                .first()
                .map(|m| m.department.code.clone())
                .unwrap_or_default()
        };
        for (user, name, role, what) in [
            (
                "dispatcher",
                "话务派单员",
                Role::Dispatcher,
                "12345 话务/派单",
            ),
            (
                "supervisor",
                "督办员",
                Role::Supervisor,
                "12345 督办、延期审批、整改监督",
            ),
            ("editor", "信件编辑", Role::Editor, "公开信件审核发布"),
        ] {
            identity::insert_staff(
                c,
                &NewStaff {
                    username: user,
                    name,
                    department_code: &hotline,
                    roles: &[role],
                    password_hash: &hash,
                    totp_secret: None,
                },
            )?;
            staff.push((user.to_owned(), what.to_owned(), None));
        }
        // The website group's editor and reviewer (政务公开) of the portal's department.
        if let Some(portal) = tongban_portal::sites::get(c, "portal")? {
            for (user, name, role, what) in [
                (
                    "web-editor",
                    "网站编辑",
                    Role::SiteEditor,
                    "门户网站文章撰写",
                ),
                (
                    "web-reviewer",
                    "网站审核员",
                    Role::SiteReviewer,
                    "文章审核发布、依申请公开答复",
                ),
            ] {
                identity::insert_staff(
                    c,
                    &NewStaff {
                        username: user,
                        name,
                        department_code: &portal.department,
                        roles: &[role],
                        password_hash: &hash,
                        totp_secret: None,
                    },
                )?;
                staff.push((user.to_owned(), what.to_owned(), None));
            }
        }
        match identity::insert_citizen(
            c,
            &NewCitizen {
                name: "张三",
                id_number: &citizen_id,
                phone: DEMO_CITIZEN_PHONE,
                password_hash: &hash,
                phone_verified_at: Some(tongban_platform::time::now_millis()),
            },
        ) {
            Ok(_) | Err(DbError::Unique(_)) => {}
            Err(e) => return Err(e),
        }
        Ok(Some(Seeded {
            matters: matters.len(),
            staff,
        }))
    })
    .map_err(|e| format!("cannot seed the demo: {e}"))
}

/// The demo citizen's ID number with its GB 11643 check digit computed, not hard-coded.
pub fn demo_citizen_id() -> String {
    let body = &DEMO_CITIZEN_ID[..17];
    match tongban_platform::ids::IdNumber::check_char(body) {
        Some(c) => format!("{body}{c}"),
        None => DEMO_CITIZEN_ID.to_owned(),
    }
}
