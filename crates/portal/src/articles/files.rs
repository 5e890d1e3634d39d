//! An article's attachments (PDF, DOCX, XLSX) and images (JPEG, PNG, GIF). The kind is read
//! from the content, never from the name; office files are opened as the ZIP archives they
//! are and bounded (parts and inflated size) before they are kept; images are decoded and
//! encoded again, so no EXIF (GPS position, camera serial) reaches the public. Files are
//! stored sealed in the shared blob store and served only once their article is published.

use super::{Article, Attachment};
use crate::error::{problem, PortalError};
use std::io::Read;
use tongban_platform::audit::{self, Entry};
use tongban_platform::db::{Conn, DbError};
use tongban_platform::identity::{Role, Staff};
use tongban_platform::{params, Ctx};

/// Files an article may carry.
pub const MAX_FILES: i64 = 20;

pub fn list(c: &mut dyn Conn, a: &Article) -> Result<Vec<Attachment>, DbError> {
    let rows = c.query(
        "SELECT n, name, kind, size FROM article_files WHERE article_id = $1 ORDER BY n",
        params![a.id],
    )?;
    rows.iter()
        .map(|r| {
            let n = r.get_i64("n")?;
            Ok(Attachment {
                n,
                name: r.get_str("name")?,
                kind: r.get_str("kind")?,
                size: r.get_i64("size")?,
                url: format!("/sites/{}/files/{}/{n}", a.site, a.id),
            })
        })
        .collect()
}

/// The part an office file must hold, and what it then is.
const OFFICE: [(&str, &str); 2] = [("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx")];

/// What a file is by its content, and the bytes to keep (images re-encoded); or what to fix.
pub fn examine(data: &[u8]) -> Result<(String, Vec<u8>), String> {
    match tongban_platform::blobs::sniff(data).and_then(|k| k.first().copied()) {
        Some("pdf") => Ok(("pdf".into(), data.to_vec())),
        Some("png") | Some("jpg") | Some("gif") => {
            let (bytes, kind) = tongban_platform::images::without_metadata(data)?;
            let ext = if kind == "image/jpeg" { "jpg" } else { "png" };
            Ok((ext.into(), bytes))
        }
        Some("ofd") => office(data).map(|k| (k.to_owned(), data.to_vec())),
        _ => Err(
            "only PDF, DOCX, XLSX, JPEG, PNG and GIF files are accepted (checked by their content)"
                .into(),
        ),
    }
}

/// A DOCX or XLSX: a readable ZIP of at most 1,000 parts inflating to at most 100 MB, with
/// the part that makes it what it is.
fn office(data: &[u8]) -> Result<&'static str, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(data))
        .map_err(|e| format!("not a readable DOCX or XLSX file: {e}"))?;
    if zip.len() > 1_000 {
        return Err("the document has too many parts (at most 1,000)".into());
    }
    let mut total: u64 = 0;
    let mut kind = None;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("not a readable DOCX or XLSX file: {e}"))?;
        if let Some((_, k)) = OFFICE.iter().find(|(p, _)| entry.name() == *p) {
            kind = Some(*k);
        }
        // Count what really inflates, not what the archive declares.
        let left = (100 * 1024 * 1024 + 1) - total;
        let n = std::io::copy(&mut (&mut entry).take(left), &mut std::io::sink())
            .map_err(|e| format!("not a readable DOCX or XLSX file: {e}"))?;
        total += n;
        if total > 100 * 1024 * 1024 {
            return Err("the document inflates to more than 100 MB".into());
        }
    }
    kind.ok_or_else(|| "a ZIP file that is neither DOCX nor XLSX is not accepted".into())
}

/// Attach a file to a draft (its site's editors); the attachment as listed.
pub async fn attach(
    ctx: &Ctx,
    staff: &Staff,
    id: i64,
    name: &str,
    data: Vec<u8>,
) -> Result<Attachment, PortalError> {
    let tz = ctx.tz;
    let (article, site) = ctx
        .db
        .read(move |c| {
            let Some(a) = super::get(c, id, tz, false)? else {
                return Ok(None);
            };
            Ok(crate::sites::get(c, &a.site)?.map(|s| (a, s)))
        })
        .await?
        .ok_or_else(|| PortalError::NotFound("no_such_article", format!("no article {id}")))?;
    if !crate::articles::flow::may(ctx, staff, Role::SiteEditor, &site).await? {
        audit::record(
            &ctx.db,
            Entry::staff(staff, "article.attach", &id.to_string(), "denied"),
        )
        .await;
        return Err(PortalError::Forbidden(
            "only a site editor of the department that owns this site attaches files".into(),
        ));
    }
    if article.state != "draft" {
        return Err(PortalError::Conflict(
            "files are attached to a draft".into(),
        ));
    }
    let bad = |code: &'static str, m: String| {
        PortalError::invalid("invalid_article", vec![problem("file", code, m)])
    };
    if data.is_empty() {
        return Err(bad("empty_file", "the file is empty".into()));
    }
    let limit = ctx.config.max_upload_bytes;
    if data.len() > limit {
        let size = if limit >= 1024 * 1024 {
            format!("{} MB", limit / (1024 * 1024))
        } else {
            format!("{} KB", limit / 1024)
        };
        return Err(bad(
            "file_too_large",
            format!("the file is larger than {size}"),
        ));
    }
    let (kind, bytes) = tokio::task::spawn_blocking(move || examine(&data))
        .await
        .map_err(|e| bad("file_kind", e.to_string()))?
        .map_err(|m| bad("file_kind", m))?;
    let mut name = tongban_platform::blobs::clean_name(name);
    // The name keeps what the content is.
    if !name.to_ascii_lowercase().ends_with(&format!(".{kind}")) {
        name = format!(
            "{}.{kind}",
            name.rsplit_once('.').map_or(name.as_str(), |(b, _)| b)
        );
    }
    let dir = ctx.config.upload_dir.clone();
    let size = bytes.len() as i64;
    let blob = tokio::task::spawn_blocking(move || tongban_platform::blobs::put(&dir, &bytes))
        .await
        .map_err(|e| PortalError::Db(DbError::Decode(e.to_string())))?
        .map_err(|e| PortalError::Db(DbError::Decode(format!("cannot store the file: {e}"))))?;
    let (s2, now, site_code) = (
        staff.clone(),
        tongban_platform::time::now_millis(),
        article.site.clone(),
    );
    let (name2, kind2) = (name.clone(), kind.clone());
    let n = ctx
        .db
        .transact(move |c| -> Result<i64, PortalError> {
            let r = c.query_one(
                "SELECT COUNT(*) AS k, COALESCE(MAX(n), 0) AS m FROM article_files WHERE article_id = $1",
                params![id],
            )?;
            if r.get_i64("k")? >= MAX_FILES {
                return Err(PortalError::invalid(
                    "invalid_article",
                    vec![problem(
                        "file",
                        "too_many_files",
                        format!("an article carries at most {MAX_FILES} files"),
                    )],
                ));
            }
            let n = r.get_i64("m")? + 1;
            c.execute(
                "INSERT INTO article_files (article_id, n, name, kind, blob, size) VALUES ($1, $2, $3, $4, $5, $6)",
                params![id, n, name2.as_str(), kind2.as_str(), blob.as_str(), size],
            )?;
            c.execute("UPDATE articles SET changed_at = $1 WHERE id = $2", params![now, id])?;
            audit::append(c, &Entry::staff(&s2, "article.attach", &id.to_string(), "ok").with_detail(name2.clone()))?;
            Ok(n)
        })
        .await?;
    Ok(Attachment {
        n,
        name,
        kind,
        size,
        url: format!("/sites/{site_code}/files/{id}/{n}"),
    })
}

/// A published article's file: its name and the bytes; `None` when there is none to show.
pub async fn read_public(
    ctx: &Ctx,
    site: &str,
    id: i64,
    n: i64,
) -> Result<Option<(String, Vec<u8>)>, DbError> {
    let site = site.to_owned();
    let found = ctx
        .db
        .read(move |c| {
            c.query_opt(
                "SELECT f.name, f.blob FROM article_files f JOIN articles a ON a.id = f.article_id
                 WHERE f.article_id = $1 AND f.n = $2 AND a.site_code = $3 AND a.state = 'published'",
                params![id, n, site.as_str()],
            )?
            .map(|r| Ok::<_, DbError>((r.get_str("name")?, r.get_str("blob")?)))
            .transpose()
        })
        .await?;
    let Some((name, blob)) = found else {
        return Ok(None);
    };
    let dir = ctx.config.upload_dir.clone();
    let data = tokio::task::spawn_blocking(move || tongban_platform::blobs::get(&dir, &blob))
        .await
        .map_err(|e| DbError::Decode(e.to_string()))?
        .map_err(|e| DbError::Decode(format!("cannot read a stored file: {e}")))?;
    Ok(Some((name, data)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(part: &str) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file(part, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"<x/>").unwrap();
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn kinds_come_from_the_content() {
        assert_eq!(examine(&zip_with("word/document.xml")).unwrap().0, "docx");
        assert_eq!(examine(&zip_with("xl/workbook.xml")).unwrap().0, "xlsx");
        assert!(examine(&zip_with("evil.sh"))
            .unwrap_err()
            .contains("neither"));
        assert_eq!(examine(b"%PDF-1.7\n...").unwrap().0, "pdf");
        assert!(examine(b"<html><script>").is_err());
        assert!(examine(b"\xFF\xD8\xFFnot really a jpeg").is_err());
    }

    #[test]
    fn a_zip_bomb_is_refused() {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("word/document.xml", opts).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..101 {
            w.write_all(&zeros).unwrap();
        }
        let data = w.finish().unwrap().into_inner();
        assert!(data.len() < 1024 * 1024);
        assert!(examine(&data).unwrap_err().contains("100 MB"));
    }
}
