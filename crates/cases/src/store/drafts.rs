//! Drafts (暂存): one unfinished application per citizen and matter, its form sealed, kept
//! [`DRAFT_FOR_MS`] after its last save; its files are pending uploads kept as long. A draft
//! the citizen has since submitted is over: reads leave it out (a submission writes nothing
//! for drafts, so the hot path stays as it was), and the next save replaces it.

use super::earlier;
use tongban_platform::db::{Conn, DbError};
use tongban_platform::params;

/// A draft not submitted since it was saved (`d` is the drafts row).
const NOT_SUBMITTED: &str = "NOT EXISTS (SELECT 1 FROM cases c WHERE c.applicant_id = d.account_id
     AND c.matter_code = d.matter_code AND c.submitted_at >= d.saved_at)";

/// How long a draft is kept after its last save.
pub const DRAFT_FOR_MS: i64 = 30 * 24 * 3_600_000;

/// A draft as stored: the sealed form, the files given (JSON), when saved.
#[derive(Debug, Clone)]
pub struct Stored {
    pub matter_code: String,
    pub form: String,
    pub given: String,
    pub saved_at: i64,
}

/// Save `account`'s draft of `matter` (replacing the one before), forgetting drafts past
/// their time; the pending uploads of the draft before that this one no longer names are
/// dropped, and this one's are kept as long as it is.
#[allow(clippy::too_many_arguments)]
pub fn save(
    c: &mut dyn Conn,
    account: i64,
    matter: &str,
    sealed_form: &str,
    given: &str,
    pending_ids: &[i64],
    before: &[i64],
    now: i64,
) -> Result<(), DbError> {
    c.execute(
        "DELETE FROM drafts WHERE saved_at < $1",
        params![now - DRAFT_FOR_MS],
    )?;
    c.execute(
        "INSERT INTO drafts (account_id, matter_code, form, given, saved_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, matter_code)
         DO UPDATE SET form = excluded.form, given = excluded.given, saved_at = excluded.saved_at",
        params![account, matter, sealed_form, given, now],
    )?;
    let gone: Vec<i64> = before
        .iter()
        .filter(|id| !pending_ids.contains(id))
        .copied()
        .collect();
    earlier::drop_pending(c, account, &gone)?;
    earlier::keep_pending(c, account, pending_ids, now + DRAFT_FOR_MS)
}

/// `account`'s draft of `matter`, if kept.
pub fn get(
    c: &mut dyn Conn,
    account: i64,
    matter: &str,
    now: i64,
) -> Result<Option<Stored>, DbError> {
    c.query_opt(
        &format!(
            "SELECT d.matter_code, d.form, d.given, d.saved_at FROM drafts d
             WHERE d.account_id = $1 AND d.matter_code = $2 AND d.saved_at >= $3 AND {NOT_SUBMITTED}"
        ),
        params![account, matter, now - DRAFT_FOR_MS],
    )?
    .map(|r| {
        Ok(Stored {
            matter_code: r.get_str("matter_code")?,
            form: r.get_str("form")?,
            given: r.get_str("given")?,
            saved_at: r.get_i64("saved_at")?,
        })
    })
    .transpose()
}

/// `account`'s drafts kept, newest first: (matter code, saved at), with the total.
pub fn list(
    c: &mut dyn Conn,
    account: i64,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<(String, i64)>, i64), DbError> {
    let since = now - DRAFT_FOR_MS;
    let total = c
        .query_one(
            &format!(
                "SELECT COUNT(*) AS n FROM drafts d
                 WHERE d.account_id = $1 AND d.saved_at >= $2 AND {NOT_SUBMITTED}"
            ),
            params![account, since],
        )?
        .get_i64("n")?;
    let rows = c.query(
        &format!(
            "SELECT d.matter_code, d.saved_at FROM drafts d
             WHERE d.account_id = $1 AND d.saved_at >= $2 AND {NOT_SUBMITTED}
             ORDER BY d.saved_at DESC, d.id DESC LIMIT $3 OFFSET $4"
        ),
        params![account, since, limit, offset],
    )?;
    let items = rows
        .iter()
        .map(|r| Ok((r.get_str("matter_code")?, r.get_i64("saved_at")?)))
        .collect::<Result<_, DbError>>()?;
    Ok((items, total))
}

/// Forget `account`'s draft of `matter` (submitted or discarded); whether there was one.
pub fn delete(c: &mut dyn Conn, account: i64, matter: &str) -> Result<bool, DbError> {
    Ok(c.execute(
        "DELETE FROM drafts WHERE account_id = $1 AND matter_code = $2",
        params![account, matter],
    )? > 0)
}
