//! Who is who: departments, citizen accounts, staff accounts with roles, and sessions kept in
//! the database (so nodes stay stateless). Storage functions take `&mut dyn Conn`.

use crate::crypto::{random_token, sm3_hex};
use crate::db::{Conn, DbError, Row, Value};
use crate::params;
use serde::Serialize;

mod ahead;
mod phones;
mod sessions;
pub use ahead::*;
pub use phones::*;
pub use sessions::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 受理: accept, refuse to accept, request supplements.
    Clerk,
    /// 审核: record review opinions.
    Reviewer,
    /// 决定: approve or reject.
    Approver,
    /// Department administrator: catalogue and staff of the department.
    Admin,
    /// Reads the audit log (permission `audit:read`).
    Auditor,
    /// May see personal data unmasked, stating a purpose each time (permission `pii:read`).
    PiiReader,
    /// 派单员 of the hotline centre: routes work orders to departments.
    Dispatcher,
    /// 承办人: signs for, answers or returns the department's work orders.
    Handler,
    /// 督办: supervises overdue orders, approves extensions, watches rectifications.
    Supervisor,
    /// 编辑: reviews and publishes public letters.
    Editor,
    /// 网站编辑: writes the articles of the sites its department owns.
    SiteEditor,
    /// 网站审核 (政务公开): reviews, publishes and withdraws the articles of its department's
    /// sites, and answers its disclosure requests (依申请公开).
    SiteReviewer,
    /// 数据发布: publishes its department's open datasets, with API tokens of its own.
    DataPublisher,
}

/// Every role with its name in configuration, the CLI and the database.
pub const ROLES: [(Role, &str); 13] = [
    (Role::Clerk, "clerk"),
    (Role::Reviewer, "reviewer"),
    (Role::Approver, "approver"),
    (Role::Admin, "admin"),
    (Role::Auditor, "auditor"),
    (Role::PiiReader, "pii_reader"),
    (Role::Dispatcher, "dispatcher"),
    (Role::Handler, "handler"),
    (Role::Supervisor, "supervisor"),
    (Role::Editor, "editor"),
    (Role::SiteEditor, "site_editor"),
    (Role::SiteReviewer, "site_reviewer"),
    (Role::DataPublisher, "data_publisher"),
];

fn role_names() -> String {
    ROLES.map(|(_, n)| n).join(", ")
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, String> {
        let s = s.trim();
        ROLES
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(r, _)| *r)
            .ok_or_else(|| format!("unknown role {s:?}; roles are {}", role_names()))
    }
    pub fn as_str(self) -> &'static str {
        ROLES
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("", |(_, n)| n)
    }
    pub fn parse_list(s: &str) -> Result<Vec<Role>, String> {
        let mut roles = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let r = Role::parse(part)?;
            if !roles.contains(&r) {
                roles.push(r);
            }
        }
        if roles.is_empty() {
            return Err(format!("give at least one role: {}", role_names()));
        }
        Ok(roles)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub code: String,
    pub name: String,
    /// The name in English (shown to English readers; the Chinese where empty).
    #[serde(default)]
    pub name_en: String,
}

impl Department {
    /// A department read from `code`, `name` and `name_en` columns named by `prefix`
    /// (`dept_` for `dept_code`, …; empty for the plain names).
    pub fn from_row(r: &Row, prefix: &str) -> Result<Department, DbError> {
        Ok(Department {
            code: r.get_str(&format!("{prefix}code"))?,
            name: r.get_str(&format!("{prefix}name"))?,
            name_en: r.get_str(&format!("{prefix}name_en"))?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Citizen {
    pub id: i64,
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub name: String,
    pub department: Department,
    pub roles: Vec<Role>,
}

impl Staff {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

pub fn upsert_department(c: &mut dyn Conn, d: &Department) -> Result<(), DbError> {
    // Matters are cached with their department's name.
    c.announce("departments")?;
    c.execute(
        "INSERT INTO departments (code, name, name_en) VALUES ($1, $2, $3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en,
           retired_at = NULL",
        params![d.code.as_str(), d.name.as_str(), d.name_en.as_str()],
    )?;
    Ok(())
}

pub fn get_department(c: &mut dyn Conn, code: &str) -> Result<Option<Department>, DbError> {
    c.query_opt(
        "SELECT code, name, name_en FROM departments WHERE code = $1",
        params![code],
    )?
    .map(|r| Department::from_row(&r, ""))
    .transpose()
}

/// The password hash of the first citizen account, if any (the demo's history gives its
/// own citizen the same password without paying for a second argon2id hash).
pub fn first_password_hash(c: &mut dyn Conn) -> Result<Option<String>, DbError> {
    c.query_opt(
        "SELECT password_hash FROM accounts ORDER BY id LIMIT 1",
        &[],
    )?
    .map(|r| r.get_str("password_hash"))
    .transpose()
}

/// Citizen accounts registered before `before` (ms), or all of them.
pub fn count_accounts(c: &mut dyn Conn, before: Option<i64>) -> Result<i64, DbError> {
    match before {
        Some(t) => c.query_one(
            "SELECT COUNT(*) AS n FROM accounts WHERE created_at < $1",
            crate::params![t],
        )?,
        None => c.query_one("SELECT COUNT(*) AS n FROM accounts", &[])?,
    }
    .get_i64("n")
}

/// The departments in force (those a region import left out are not).
pub fn list_departments(c: &mut dyn Conn) -> Result<Vec<Department>, DbError> {
    c.query(
        "SELECT code, name, name_en FROM departments WHERE retired_at IS NULL ORDER BY code",
        &[],
    )?
    .iter()
    .map(|r| Department::from_row(r, ""))
    .collect()
}

/// Every department, retired ones too (for the names of what they handled).
pub fn all_departments(c: &mut dyn Conn) -> Result<Vec<Department>, DbError> {
    c.query(
        "SELECT code, name, name_en FROM departments ORDER BY code",
        &[],
    )?
    .iter()
    .map(|r| Department::from_row(r, ""))
    .collect()
}

pub struct NewCitizen<'a> {
    pub name: &'a str,
    pub id_number: &'a str,
    pub phone: &'a str,
    pub password_hash: &'a str,
    /// When the phone was proved by a code (`None` for accounts made without one).
    pub phone_verified_at: Option<i64>,
}

/// Register a citizen; `Err(DbError::Unique)` when the ID number or phone is taken. The ID
/// number and phone are stored SM4-encrypted, found again through their blind indexes.
pub fn insert_citizen(c: &mut dyn Conn, n: &NewCitizen) -> Result<Citizen, DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    let row = c.query_one(
        "INSERT INTO accounts (name, id_number, phone, password_hash, created_at, id_number_bidx, phone_bidx, name_bidx, phone_verified_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        params![
            keys.encrypt(n.name).map_err(DbError::from)?,
            keys.encrypt(n.id_number).map_err(DbError::from)?,
            keys.encrypt(n.phone).map_err(DbError::from)?,
            n.password_hash,
            crate::time::now_millis(),
            keys.blind("id_number", n.id_number),
            keys.blind("phone", n.phone),
            keys.blind("name", n.name.trim()),
            n.phone_verified_at
        ],
    )?;
    Ok(Citizen {
        id: row.get_i64("id")?,
        name: n.name.to_owned(),
        id_number: n.id_number.to_owned(),
        phone: n.phone.to_owned(),
    })
}

fn citizen_from(r: &Row) -> Result<Citizen, DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    Ok(Citizen {
        id: r.get_i64("id")?,
        name: keys.decrypt(&r.get_str("name")?).map_err(DbError::from)?,
        id_number: keys
            .decrypt(&r.get_str("id_number")?)
            .map_err(DbError::from)?,
        phone: keys.decrypt(&r.get_str("phone")?).map_err(DbError::from)?,
    })
}

const CITIZEN_NAME: &str = "SELECT name FROM accounts WHERE id = $1";

/// Only the display name.
pub fn citizen_name(c: &mut dyn Conn, id: i64) -> Result<Option<String>, DbError> {
    c.query_opt(CITIZEN_NAME, params![id])?
        .map(|r| crate::vault::open_text(&r.get_str("name")?))
        .transpose()
}

/// The accounts of citizens with exactly this name (by its blind index), at most `limit`.
pub fn citizens_named(c: &mut dyn Conn, name: &str, limit: i64) -> Result<Vec<i64>, DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    c.query(
        "SELECT id FROM accounts WHERE name_bidx = $1 ORDER BY id LIMIT $2",
        params![keys.blind("name", name.trim()), limit],
    )?
    .iter()
    .map(|r| r.get_i64("id"))
    .collect()
}

/// Set (or clear) where a staff member receives notices.
pub fn set_staff_email(c: &mut dyn Conn, id: i64, email: Option<&str>) -> Result<(), DbError> {
    c.execute(
        "UPDATE staff SET email = $1 WHERE id = $2",
        params![email, id],
    )?;
    Ok(())
}

/// Where a staff member receives notices, if anywhere.
pub fn staff_email(c: &mut dyn Conn, id: i64) -> Result<Option<String>, DbError> {
    Ok(
        c.query_opt("SELECT email FROM staff WHERE id = $1", params![id])?
            .map(|r| r.get_opt_str("email"))
            .transpose()?
            .flatten(),
    )
}

/// The e-mail addresses of staff holding `role`, of `department` when given.
pub fn staff_emails(
    c: &mut dyn Conn,
    role: Role,
    department: Option<&str>,
) -> Result<Vec<String>, DbError> {
    let rows = match department {
        Some(d) => c.query(
            "SELECT roles, email FROM staff WHERE email IS NOT NULL AND department_code = $1",
            params![d],
        )?,
        None => c.query(
            "SELECT roles, email FROM staff WHERE email IS NOT NULL",
            &[],
        )?,
    };
    let mut out = Vec::new();
    for r in rows {
        let roles = Role::parse_list(&r.get_str("roles")?).unwrap_or_default();
        if roles.contains(&role) {
            out.push(r.get_str("email")?);
        }
    }
    Ok(out)
}

/// A citizen's phone number in clear (for notices), if the account exists.
pub fn citizen_phone(c: &mut dyn Conn, id: i64) -> Result<Option<String>, DbError> {
    Ok(get_citizen(c, id)?.map(|x| x.phone))
}

pub fn get_citizen(c: &mut dyn Conn, id: i64) -> Result<Option<Citizen>, DbError> {
    c.query_opt(
        "SELECT id, name, id_number, phone FROM accounts WHERE id = $1",
        params![id],
    )?
    .as_ref()
    .map(citizen_from)
    .transpose()
}

/// The account id and password hash for a login by ID number or phone (by blind index).
pub fn citizen_credentials(
    c: &mut dyn Conn,
    by_id_number: Option<&str>,
    by_phone: Option<&str>,
) -> Result<Option<(i64, String)>, DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    let row = match (by_id_number, by_phone) {
        (Some(id), _) => c.query_opt(
            "SELECT id, password_hash FROM accounts WHERE id_number_bidx = $1",
            params![keys.blind("id_number", id)],
        )?,
        (None, Some(p)) => c.query_opt(
            "SELECT id, password_hash FROM accounts WHERE phone_bidx = $1",
            params![keys.blind("phone", p)],
        )?,
        (None, None) => None,
    };
    row.map(|r| Ok((r.get_i64("id")?, r.get_str("password_hash")?)))
        .transpose()
}

/// Encrypt account rows written in clear (before encryption) or under an older key.
/// Returns how many rows were rewritten.
pub fn reencrypt_accounts(c: &mut dyn Conn, limit: i64) -> Result<usize, DbError> {
    let keys = crate::vault::keys().map_err(DbError::from)?;
    let rows = c.query(
        "SELECT id, name, id_number, phone FROM accounts
         WHERE id_number NOT LIKE $1 OR phone NOT LIKE $1 OR name NOT LIKE $1
            OR id_number_bidx IS NULL OR name_bidx IS NULL
         ORDER BY id LIMIT $2",
        params![format!("{}{}:%", crate::vault::PREFIX, keys.current), limit],
    )?;
    for r in &rows {
        let id_number = keys
            .decrypt(&r.get_str("id_number")?)
            .map_err(DbError::from)?;
        let phone = keys.decrypt(&r.get_str("phone")?).map_err(DbError::from)?;
        let name = keys.decrypt(&r.get_str("name")?).map_err(DbError::from)?;
        c.execute(
            "UPDATE accounts SET id_number = $1, phone = $2, id_number_bidx = $3, phone_bidx = $4,
                name = $5, name_bidx = $6 WHERE id = $7",
            params![
                keys.encrypt(&id_number).map_err(DbError::from)?,
                keys.encrypt(&phone).map_err(DbError::from)?,
                keys.blind("id_number", &id_number),
                keys.blind("phone", &phone),
                keys.encrypt(&name).map_err(DbError::from)?,
                keys.blind("name", name.trim()),
                r.get_i64("id")?
            ],
        )?;
    }
    Ok(rows.len())
}

pub struct NewStaff<'a> {
    pub username: &'a str,
    pub name: &'a str,
    pub department_code: &'a str,
    pub roles: &'a [Role],
    pub password_hash: &'a str,
    /// Base32 TOTP secret; required for accounts holding the admin role.
    pub totp_secret: Option<&'a str>,
}

pub fn insert_staff(c: &mut dyn Conn, n: &NewStaff) -> Result<i64, DbError> {
    let roles: Vec<&str> = n.roles.iter().map(|r| r.as_str()).collect();
    let row = c.query_one(
        "INSERT INTO staff (username, name, department_code, roles, password_hash, created_at, totp_secret)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![
            n.username,
            n.name,
            n.department_code,
            roles.join(","),
            n.password_hash,
            crate::time::now_millis(),
            n.totp_secret
        ],
    )?;
    row.get_i64("id")
}

const STAFF_SELECT: &str = "SELECT s.id, s.username, s.name, s.roles, s.password_hash,
    s.totp_secret, s.totp_last_step, d.code AS dept_code, d.name AS dept_name, d.name_en AS dept_name_en
    FROM staff s JOIN departments d ON d.code = s.department_code";

fn staff_from(r: &Row) -> Result<Staff, DbError> {
    let roles = Role::parse_list(&r.get_str("roles")?).map_err(DbError::Decode)?;
    Ok(Staff {
        id: r.get_i64("id")?,
        username: r.get_str("username")?,
        name: r.get_str("name")?,
        department: Department::from_row(r, "dept_")?,
        roles,
    })
}

/// Staff accounts, of one department or all, by username, one page at a time, with the total.
pub fn list_staff(
    c: &mut dyn Conn,
    department: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Staff>, i64), DbError> {
    let (w, mut args): (&str, Vec<Value>) = match department {
        Some(d) => (" WHERE s.department_code = $1", vec![d.into()]),
        None => ("", vec![]),
    };
    let total = c
        .query_one(&format!("SELECT COUNT(*) AS n FROM staff s{w}"), &args)?
        .get_i64("n")?;
    args.push(limit.into());
    args.push(offset.into());
    let n = args.len();
    let rows = c.query(
        &format!(
            "{STAFF_SELECT}{w} ORDER BY s.username LIMIT ${} OFFSET ${n}",
            n - 1
        ),
        &args,
    )?;
    Ok((
        rows.iter().map(staff_from).collect::<Result<_, _>>()?,
        total,
    ))
}

pub fn get_staff(c: &mut dyn Conn, id: i64) -> Result<Option<Staff>, DbError> {
    c.query_opt(&format!("{STAFF_SELECT} WHERE s.id = $1"), params![id])?
        .as_ref()
        .map(staff_from)
        .transpose()
}

/// What a staff login checks: the account, its password hash, and its second factor.
pub struct StaffCredentials {
    pub staff: Staff,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_last_step: i64,
}

pub fn staff_credentials(
    c: &mut dyn Conn,
    username: &str,
) -> Result<Option<StaffCredentials>, DbError> {
    c.query_opt(
        &format!("{STAFF_SELECT} WHERE s.username = $1"),
        params![username],
    )?
    .map(|r| {
        Ok(StaffCredentials {
            staff: staff_from(&r)?,
            password_hash: r.get_str("password_hash")?,
            totp_secret: r.get_opt_str("totp_secret")?,
            totp_last_step: r.get_i64("totp_last_step")?,
        })
    })
    .transpose()
}

/// Remember the TOTP step just used, if it is newer than the last; false on a replay.
pub fn use_totp_step(c: &mut dyn Conn, staff_id: i64, step: i64) -> Result<bool, DbError> {
    Ok(c.execute(
        "UPDATE staff SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        params![step, staff_id],
    )? == 1)
}

/// The serial part of a new case or work-order number in the series `name` (such as
/// `case:20261130`). On SQLite, whose one writer runs one transaction at a time, it is the
/// series' next value (1, 2, 3, … a day). On PostgreSQL it comes from one sequence for every
/// series: a counter row would be held by each submission until its commit and let only one
/// commit at a time; the numbers stay unique and increasing, and may skip.
pub fn next_number(c: &mut dyn Conn, name: &str) -> Result<i64, DbError> {
    let (sql, args) = next_number_query(c.engine(), name);
    c.query_one(sql, &args)?.get_i64("value")
}

/// The statement that takes the next number of series `name` (see [`next_number`]); on
/// PostgreSQL it belongs to no transaction and may be taken before a write
/// ([`crate::db::Db::take`]).
pub fn next_number_query(engine: crate::db::Engine, name: &str) -> (&'static str, Vec<Value>) {
    match engine {
        crate::db::Engine::Postgres => ("SELECT nextval('numbers_seq') AS value", Vec::new()),
        crate::db::Engine::Sqlite => (NEXT_COUNTER, vec![Value::Text(name.to_owned())]),
    }
}

const NEXT_COUNTER: &str = "INSERT INTO counters (name, value) VALUES ($1, 1)
     ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value";

/// Next value of a named counter; atomic on both engines (each call holds the row until its
/// transaction ends on PostgreSQL, so busy series use [`next_number`]).
pub fn next_counter(c: &mut dyn Conn, name: &str) -> Result<i64, DbError> {
    c.query_one(NEXT_COUNTER, params![name])?.get_i64("value")
}

/// The password hash of a citizen account or a staff member.
pub fn password_hash(
    c: &mut dyn Conn,
    kind: SessionKind,
    id: i64,
) -> Result<Option<String>, DbError> {
    let table = match kind {
        SessionKind::Citizen => "accounts",
        SessionKind::Staff => "staff",
    };
    c.query_opt(
        &format!("SELECT password_hash FROM {table} WHERE id = $1"),
        params![id],
    )?
    .map(|r| r.get_str("password_hash"))
    .transpose()
}

/// Set a new password hash and end every other session of the same person.
pub fn set_password(
    c: &mut dyn Conn,
    kind: SessionKind,
    id: i64,
    hash: &str,
    keep_token: &str,
) -> Result<(), DbError> {
    let table = match kind {
        SessionKind::Citizen => "accounts",
        SessionKind::Staff => "staff",
    };
    c.execute(
        &format!("UPDATE {table} SET password_hash = $1 WHERE id = $2"),
        params![hash, id],
    )?;
    c.execute(
        "DELETE FROM sessions WHERE kind = $1 AND subject_id = $2 AND token_hash <> $3",
        params![kind.as_str(), id, sm3_hex(keep_token.as_bytes())],
    )?;
    c.announce(SESSIONS_TOPIC)?;
    Ok(())
}
