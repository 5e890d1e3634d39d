//! Catalogue administration rules: a department administrator edits, publishes, withdraws,
//! exports and imports the matters of their own department, and nothing else. Every change
//! and every refusal is written to the audit log.

use crate::model::{check_matter, Matter};
use crate::store;
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{audit, ApiError, Ctx};

fn require_admin(staff: &Staff) -> Result<(), ApiError> {
    if staff.has(Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "catalogue administration needs the admin role",
        ))
    }
}

/// Audit a refusal before answering with it.
async fn denied(ctx: &Ctx, staff: &Staff, action: &str, object: &str, e: ApiError) -> ApiError {
    audit::record(
        &ctx.db,
        audit::Entry::staff(staff, action, object, "denied"),
    )
    .await;
    e
}

pub async fn department_matters(ctx: &Ctx, staff: &Staff) -> Result<Vec<Matter>, ApiError> {
    if let Err(e) = require_admin(staff) {
        return Err(denied(ctx, staff, "matter.list", "", e).await);
    }
    let dept = staff.department.code.clone();
    Ok(ctx
        .db
        .read(move |c| store::list_department(c, &dept))
        .await?)
}

/// The matter, if it belongs to the administrator's department.
pub async fn own_matter(ctx: &Ctx, staff: &Staff, code: &str) -> Result<Matter, ApiError> {
    if let Err(e) = require_admin(staff) {
        return Err(denied(ctx, staff, "matter.edit", code, e).await);
    }
    let c2 = code.to_owned();
    let m = ctx
        .db
        .read(move |c| store::get(c, &c2))
        .await?
        .ok_or_else(|| {
            ApiError::not_found("matter_not_found", format!("no matter has code {code:?}"))
        })?;
    if m.department.code != staff.department.code {
        let e = ApiError::forbidden(format!("matter {code} belongs to {}", m.department.name));
        return Err(denied(ctx, staff, "matter.edit", code, e).await);
    }
    Ok(m)
}

/// Save an edited matter (same code, same department), checked as an import would be.
pub async fn save(ctx: &Ctx, staff: &Staff, edited: Matter) -> Result<(), ApiError> {
    let current = own_matter(ctx, staff, &edited.code).await?;
    if edited.department != current.department {
        return Err(ApiError::forbidden(
            "a matter cannot be moved to another department here",
        ));
    }
    check_matter(&edited).map_err(|m| ApiError::unprocessable("invalid_matter", m))?;
    let e = audit::Entry::staff(staff, "matter.save", &edited.code, "ok");
    ctx.db
        .write(move |c| {
            store::save(c, &[edited])?;
            audit::append(c, &e).map(|_| ())
        })
        .await?;
    Ok(())
}

pub async fn set_published(
    ctx: &Ctx,
    staff: &Staff,
    code: &str,
    published: bool,
) -> Result<(), ApiError> {
    own_matter(ctx, staff, code).await?;
    let c2 = code.to_owned();
    let action = if published {
        "matter.publish"
    } else {
        "matter.withdraw"
    };
    let e = audit::Entry::staff(staff, action, code, "ok");
    ctx.db
        .write(move |c| {
            store::set_published(c, &c2, published)?;
            audit::append(c, &e).map(|_| ())
        })
        .await?;
    Ok(())
}

/// Why an import did not happen.
pub enum ImportError {
    /// Not allowed: not an administrator, or rows of another department (listed).
    Forbidden(ApiError, Vec<String>),
    /// The workbook has problems, each named by sheet and row.
    Invalid(Vec<String>),
}

/// Import matters from an uploaded workbook: all rows must be the department's; all or nothing.
pub async fn import(ctx: &Ctx, staff: &Staff, data: Vec<u8>) -> Result<usize, ImportError> {
    if let Err(e) = require_admin(staff) {
        return Err(ImportError::Forbidden(
            denied(ctx, staff, "matter.import", "", e).await,
            vec![],
        ));
    }
    let matters = crate::exchange::import_xlsx_bytes(data).map_err(ImportError::Invalid)?;
    let foreign: Vec<String> = matters
        .iter()
        .enumerate()
        .filter(|(_, m)| m.department.code != staff.department.code)
        .map(|(i, m)| {
            format!(
                "{} row {}: matter {} belongs to {}, not to {}",
                crate::exchange::SHEET_MATTERS,
                i + 2,
                m.code,
                m.department.code,
                staff.department.code
            )
        })
        .collect();
    if !foreign.is_empty() {
        let e = ApiError::forbidden("the workbook holds matters of another department");
        return Err(ImportError::Forbidden(
            denied(ctx, staff, "matter.import", "", e).await,
            foreign,
        ));
    }
    let n = matters.len();
    let e =
        audit::Entry::staff(staff, "matter.import", "", "ok").with_detail(format!("{n} matters"));
    ctx.db
        .write(move |c| {
            store::save(c, &matters)?;
            audit::append(c, &e).map(|_| ())
        })
        .await
        .map_err(|e| ImportError::Invalid(vec![format!("import failed, nothing imported: {e}")]))?;
    Ok(n)
}
