//! Samples (样表): a filled-in example of a material, uploaded by the department
//! administrator who keeps the matter, offered to applicants beside the material on the
//! guide and the apply page (`/matters/{code}/materials/{key}/sample`) and in the API
//! (`samples` of `GET /api/v1/matters/{code}`). Files are checked by their content, kept in
//! the sealed file store, and survive a re-import of the catalogue (they are keyed by the
//! matter's code and the material's key, not stored in the matter).

use crate::admin::own_matter;
use crate::error::CatalogError;
use serde::Serialize;
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::identity::Staff;
use tongban_platform::{audit, blobs, params, Ctx};

/// The formats a sample may have, by content: documents and pictures people print.
pub const FORMATS: [&str; 8] = ["pdf", "jpg", "png", "ofd", "docx", "xlsx", "doc", "xls"];

/// The extension a sample is served with: the one its name gave when its content allows it
/// (a ZIP container may be OFD, DOCX or XLSX), else the first its content shows.
fn extension(filename: &str, data: &[u8]) -> Option<&'static str> {
    let kinds = blobs::sniff(data)?;
    let given = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    kinds
        .iter()
        .copied()
        .filter(|k| FORMATS.contains(k))
        .find(|k| given.as_deref() == Some(*k))
        .or_else(|| kinds.iter().copied().find(|k| FORMATS.contains(k)))
}

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub material_key: String,
    /// The name the administrator's file had.
    pub filename: String,
    pub size: i64,
    /// Where applicants download it.
    pub url: String,
    #[serde(skip)]
    pub sha: String,
}

fn sample_from(code: &str, r: &Row) -> Result<Sample, DbError> {
    let key = r.get_str("material_key")?;
    Ok(Sample {
        url: url(code, &key),
        material_key: key,
        filename: r.get_str("filename")?,
        size: r.get_i64("size")?,
        sha: r.get_str("sha")?,
    })
}

/// The download address of the sample of material `key` of matter `code`.
pub fn url(code: &str, key: &str) -> String {
    format!(
        "/matters/{}/materials/{}/sample",
        tongban_web::page::urlencode(code),
        tongban_web::page::urlencode(key)
    )
}

/// The samples of a matter whose material still exists, in the order of the materials.
pub fn of_matter(c: &mut dyn Conn, m: &crate::Matter) -> Result<Vec<Sample>, DbError> {
    let rows = c.query(
        "SELECT material_key, filename, size, sha FROM material_samples WHERE matter_code = $1",
        params![m.code.as_str()],
    )?;
    let mut all = rows
        .iter()
        .map(|r| sample_from(&m.code, r))
        .collect::<Result<Vec<_>, _>>()?;
    all.retain(|s| m.materials.iter().any(|x| x.key == s.material_key));
    all.sort_by_key(|s| {
        m.materials
            .iter()
            .position(|x| x.key == s.material_key)
            .unwrap_or(usize::MAX)
    });
    Ok(all)
}

/// The samples of a matter by material key.
pub fn by_key(
    c: &mut dyn Conn,
    m: &crate::Matter,
) -> Result<std::collections::BTreeMap<String, Sample>, DbError> {
    Ok(of_matter(c, m)?
        .into_iter()
        .map(|s| (s.material_key.clone(), s))
        .collect())
}

/// The sample of material `key` of published matter `code`, with its content.
pub async fn content(
    ctx: &Ctx,
    code: &str,
    key: &str,
) -> Result<(String, Vec<u8>), tongban_platform::ApiError> {
    let (c2, k2) = (code.to_owned(), key.to_owned());
    let found = ctx
        .db
        .read(move |c| {
            let Some(m) = crate::store::get(c, &c2)?.filter(|m| m.published) else {
                return Ok(None);
            };
            Ok(of_matter(c, &m)?.into_iter().find(|s| s.material_key == k2))
        })
        .await?;
    let Some(s) = found else {
        return Err(tongban_platform::ApiError::not_found(
            "sample_not_found",
            format!("material {key:?} of matter {code:?} has no sample"),
        ));
    };
    let data = blobs::get(&ctx.config.upload_dir, &s.sha).map_err(|e| {
        tracing::error!(error = %e, sha = %s.sha, "stored sample is missing");
        tongban_platform::ApiError::internal()
    })?;
    let ext = extension(&s.filename, &data).unwrap_or("bin");
    Ok((format!("{code}-{key}-sample.{ext}"), data))
}

/// Keep `data` as the sample of material `key` of the administrator's matter `code`
/// (replacing any earlier one).
pub async fn put(
    ctx: &Ctx,
    staff: &Staff,
    code: &str,
    key: &str,
    filename: &str,
    data: Vec<u8>,
) -> Result<(), CatalogError> {
    let m = own_matter(ctx, staff, code).await?;
    if !m.materials.iter().any(|x| x.key == key) {
        return Err(CatalogError::NoSuchMaterial(key.to_owned()));
    }
    if data.is_empty() {
        return Err(CatalogError::BadSample("the file is empty".into()));
    }
    if extension(filename, &data).is_none() {
        return Err(CatalogError::BadSample(format!(
            "a sample is one of {} (judged by the file's content)",
            FORMATS.join(", ").to_uppercase()
        )));
    }
    let size = data.len() as i64;
    let sha = blobs::put(&ctx.config.upload_dir, &data).map_err(|e| {
        tracing::error!(error = %e, "cannot store a sample");
        CatalogError::Storage
    })?;
    let (c2, k2, name) = (code.to_owned(), key.to_owned(), blobs::clean_name(filename));
    let by = staff.username.clone();
    let e = audit::Entry::staff(staff, "matter.sample", code, "ok")
        .with_detail(format!("{key}: {name} ({size} bytes)"));
    ctx.db
        .write(move |c| {
            c.execute(
                "INSERT INTO material_samples (matter_code, material_key, filename, size, sha, uploaded_at, uploaded_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (matter_code, material_key) DO UPDATE SET filename = excluded.filename,
                   size = excluded.size, sha = excluded.sha, uploaded_at = excluded.uploaded_at,
                   uploaded_by = excluded.uploaded_by",
                params![
                    c2.as_str(),
                    k2.as_str(),
                    name.as_str(),
                    size,
                    sha.as_str(),
                    tongban_platform::time::now_millis(),
                    by.as_str()
                ],
            )?;
            audit::append(c, &e).map(|_| ())
        })
        .await?;
    Ok(())
}

/// Take the sample of material `key` of the administrator's matter `code` away.
pub async fn remove(ctx: &Ctx, staff: &Staff, code: &str, key: &str) -> Result<(), CatalogError> {
    own_matter(ctx, staff, code).await?;
    let (c2, k2) = (code.to_owned(), key.to_owned());
    let e = audit::Entry::staff(staff, "matter.sample_remove", code, "ok").with_detail(key);
    let n = ctx
        .db
        .write(move |c| {
            let n = c.execute(
                "DELETE FROM material_samples WHERE matter_code = $1 AND material_key = $2",
                params![c2.as_str(), k2.as_str()],
            )?;
            if n > 0 {
                audit::append(c, &e)?;
            }
            Ok(n)
        })
        .await?;
    if n == 0 {
        return Err(CatalogError::NoSuchMaterial(key.to_owned()));
    }
    Ok(())
}
