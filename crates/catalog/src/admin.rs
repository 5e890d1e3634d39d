//! Catalogue administration rules: a department administrator edits, publishes, withdraws,
//! exports and imports the matters of their own department, and nothing else. Every change
//! and every refusal is written to the audit log.

use crate::error::CatalogError;
use crate::model::{check_matter, Matter};
use crate::store;
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{audit, Ctx};

fn require_admin(staff: &Staff) -> Result<(), CatalogError> {
    if staff.has(Role::Admin) {
        Ok(())
    } else {
        Err(CatalogError::NotAdmin)
    }
}

/// Audit a refusal before answering with it.
async fn denied(
    ctx: &Ctx,
    staff: &Staff,
    action: &str,
    object: &str,
    e: CatalogError,
) -> CatalogError {
    audit::record(
        &ctx.db,
        audit::Entry::staff(staff, action, object, "denied"),
    )
    .await;
    e
}

pub async fn department_matters(ctx: &Ctx, staff: &Staff) -> Result<Vec<Matter>, CatalogError> {
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
pub async fn own_matter(ctx: &Ctx, staff: &Staff, code: &str) -> Result<Matter, CatalogError> {
    if let Err(e) = require_admin(staff) {
        return Err(denied(ctx, staff, "matter.edit", code, e).await);
    }
    let c2 = code.to_owned();
    let m = ctx
        .db
        .read_single(move |c| store::get(c, &c2))
        .await?
        .ok_or_else(|| CatalogError::NotFound(code.to_owned()))?;
    if m.department.code != staff.department.code {
        let e = CatalogError::OtherDepartment {
            code: code.to_owned(),
            department: m.department.name.clone(),
        };
        return Err(denied(ctx, staff, "matter.edit", code, e).await);
    }
    Ok(m)
}

/// Save an edited matter (same code, same department), checked as an import would be.
pub async fn save(ctx: &Ctx, staff: &Staff, edited: Matter) -> Result<(), CatalogError> {
    let current = own_matter(ctx, staff, &edited.code).await?;
    if edited.department != current.department {
        return Err(CatalogError::CannotMove);
    }
    check_matter(&edited).map_err(CatalogError::InvalidMatter)?;
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
) -> Result<(), CatalogError> {
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

/// Import matters from an uploaded workbook: all rows must be the department's; all or nothing.
pub async fn import(ctx: &Ctx, staff: &Staff, data: Vec<u8>) -> Result<usize, CatalogError> {
    if let Err(e) = require_admin(staff) {
        return Err(denied(ctx, staff, "matter.import", "", e).await);
    }
    let matters =
        crate::exchange::import_xlsx_bytes(data).map_err(CatalogError::InvalidWorkbook)?;
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
        let e = CatalogError::ForeignRows(foreign);
        return Err(denied(ctx, staff, "matter.import", "", e).await);
    }
    let n = matters.len();
    let e =
        audit::Entry::staff(staff, "matter.import", "", "ok").with_detail(format!("{n} matters"));
    ctx.db
        .write(move |c| {
            store::save(c, &matters)?;
            audit::append(c, &e).map(|_| ())
        })
        .await?;
    Ok(n)
}
