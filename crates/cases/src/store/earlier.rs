//! A citizen's earlier uploads, to use again in a new application (the same ID card for
//! every matter that asks for it): listed by material, and taken by id only by their owner.

use super::{material_from, MaterialRecord};
use tongban_platform::db::{Conn, DbError, Row};
use tongban_platform::params;

/// One earlier upload: which case it went with, and the file.
#[derive(Debug, Clone)]
pub struct Earlier {
    pub id: i64,
    pub case_no: String,
    pub material: MaterialRecord,
}

const COLUMNS: &str =
    "m.id, c.case_no, m.material_key, m.filename, m.content_type, m.size, m.sha, m.uploaded_at, m.certificate, m.exchange_message";

fn earlier_from(r: &Row) -> Result<Earlier, DbError> {
    Ok(Earlier {
        id: r.get_i64("id")?,
        case_no: r.get_str("case_no")?,
        material: material_from(r)?,
    })
}

/// The uploads of `applicant`'s cases, newest first, of material `key` if given; with the
/// total.
pub fn of_applicant(
    c: &mut dyn Conn,
    applicant: i64,
    key: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Earlier>, i64), DbError> {
    let (cond, mut args) = match key {
        Some(k) => (
            "c.applicant_id = $1 AND m.material_key = $2 AND m.certificate IS NULL AND m.exchange_message IS NULL",
            params![applicant, k].to_vec(),
        ),
        None => (
            "c.applicant_id = $1 AND m.certificate IS NULL AND m.exchange_message IS NULL",
            params![applicant].to_vec(),
        ),
    };
    let total = c
        .query_one(
            &format!(
                "SELECT COUNT(*) AS n FROM case_materials m JOIN cases c ON c.id = m.case_id WHERE {cond}"
            ),
            &args,
        )?
        .get_i64("n")?;
    let n = args.len();
    args.push(limit.into());
    args.push(offset.into());
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM case_materials m JOIN cases c ON c.id = m.case_id WHERE {cond}
             ORDER BY m.id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        &args,
    )?;
    Ok((
        rows.iter().map(earlier_from).collect::<Result<_, _>>()?,
        total,
    ))
}

/// Upload `id` if it belongs to one of `applicant`'s cases.
pub fn owned(c: &mut dyn Conn, applicant: i64, id: i64) -> Result<Option<Earlier>, DbError> {
    c.query_opt(
        &format!(
            "SELECT {COLUMNS} FROM case_materials m JOIN cases c ON c.id = m.case_id
             WHERE m.id = $1 AND c.applicant_id = $2 AND m.certificate IS NULL AND m.exchange_message IS NULL"
        ),
        params![id, applicant],
    )?
    .as_ref()
    .map(earlier_from)
    .transpose()
}

/// How long a pending upload is kept for its owner.
pub const PENDING_FOR_MS: i64 = 24 * 3_600_000;

/// Keep `files` of `account` as pending uploads until `until` (dropping any kept past their
/// time); their ids, in order.
pub fn hold_pending(
    c: &mut dyn Conn,
    account: i64,
    files: &[MaterialRecord],
    now: i64,
    until: i64,
) -> Result<Vec<i64>, DbError> {
    c.execute(
        "DELETE FROM pending_uploads WHERE keep_until < $1",
        params![now],
    )?;
    let mut ids = Vec::with_capacity(files.len());
    for m in files {
        ids.push(
            c.query_one(
                "INSERT INTO pending_uploads (account_id, material_key, filename, content_type, size, sha, created_at, keep_until)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                params![account, m.key.as_str(), m.filename.as_str(), m.content_type.as_str(), m.size, m.sha.as_str(), now, until],
            )?
            .get_i64("id")?,
        );
    }
    Ok(ids)
}

/// Keep pending uploads `ids` of `account` at least until `until` (a draft's files).
pub fn keep_pending(
    c: &mut dyn Conn,
    account: i64,
    ids: &[i64],
    until: i64,
) -> Result<(), DbError> {
    for id in ids {
        c.execute(
            "UPDATE pending_uploads SET keep_until = $1
             WHERE id = $2 AND account_id = $3 AND keep_until < $1",
            params![until, *id, account],
        )?;
    }
    Ok(())
}

/// Pending upload `id` of `account`, if kept and not past its time.
pub fn pending(
    c: &mut dyn Conn,
    account: i64,
    id: i64,
    now: i64,
) -> Result<Option<MaterialRecord>, DbError> {
    c.query_opt(
        "SELECT material_key, filename, content_type, size, sha, created_at AS uploaded_at,
                NULL AS certificate, NULL AS exchange_message
         FROM pending_uploads WHERE id = $1 AND account_id = $2 AND keep_until >= $3",
        params![id, account, now],
    )?
    .as_ref()
    .map(material_from)
    .transpose()
}

/// Forget pending uploads that went with a submission.
pub fn drop_pending(c: &mut dyn Conn, account: i64, ids: &[i64]) -> Result<(), DbError> {
    for id in ids {
        c.execute_later(
            "DELETE FROM pending_uploads WHERE id = $1 AND account_id = $2",
            params![*id, account],
        )?;
    }
    Ok(())
}
