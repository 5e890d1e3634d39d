//! The tamper-evident audit log (等保 level 3): who did what to which object, when, from where,
//! with what result. Each entry stores the SM3 hash of the previous entry and its own, so
//! `verify` finds the first entry that was changed, removed or reordered. Entries are only
//! ever appended; nothing in the platform deletes them. On PostgreSQL they are written
//! unchained and chained by [`link`] (the worker and every reader run it), so audited writes
//! never queue on the chain's head.

use crate::crypto::sm3_hex;
use crate::db::{Conn, DbError, Engine, Row};
use crate::params;
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Entry {
    /// citizen, staff, system or anonymous.
    pub actor_kind: String,
    /// Account id, username, or what was typed for a failed login (hashed).
    pub actor: String,
    pub role: String,
    pub department: String,
    /// e.g. login, logout, case.accept, matter.save, permission.denied.
    pub action: String,
    /// The object acted on, e.g. a case number or matter code.
    pub object: String,
    /// ok, denied, failed.
    pub result: String,
    /// Peer address, or `cli`.
    pub source: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stored {
    pub seq: i64,
    pub at: i64,
    #[serde(flatten)]
    pub entry: Entry,
    pub prev_hash: String,
    pub hash: String,
}

#[cfg(test)]
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of an entry: SM3 over the previous hash and every field, unit-separated.
pub fn hash(prev: &str, seq: i64, at: i64, e: &Entry) -> String {
    let (seq, at) = (seq.to_string(), at.to_string());
    let mut parts = vec![prev, seq.as_str(), at.as_str()];
    parts.extend(own_fields(e));
    let text = parts.join("\u{1f}");
    sm3_hex(text.as_bytes())
}

/// Append an entry inside the caller's transaction.
pub fn append(c: &mut dyn Conn, e: &Entry) -> Result<(), DbError> {
    append_at(c, e, crate::time::now_millis())
}

/// Append with a given time (for imports of history and tests). On SQLite the entry is
/// chained at once. On PostgreSQL it is written unchained (`audit_pending`) and chained by
/// [`link`]: chaining here would hold the chain's head row until this transaction commits,
/// letting one audited write commit at a time across every node.
pub fn append_at(c: &mut dyn Conn, e: &Entry, at: i64) -> Result<(), DbError> {
    if c.engine() == Engine::Postgres {
        let mut args = vec![at.into()];
        args.extend(fields(e));
        // Nothing waits for its answer: it travels with the job's next statement.
        return c.execute_later(
            "INSERT INTO audit_pending (at, actor_kind, actor, role, department, action, object, result, source, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &args,
        );
    }
    chain(c, e, at).map(|_| ())
}

/// Entries chained per [`link`] step.
const LINK_BATCH: i64 = 1000;

/// Chain the entries waiting in `audit_pending`, oldest first; returns how many. Runs inside
/// a write transaction; the head row's lock makes two nodes take turns.
pub fn link(c: &mut dyn Conn) -> Result<usize, DbError> {
    if c.engine() != Engine::Postgres {
        return Ok(0);
    }
    let mut total = 0;
    loop {
        // The head first: once it is locked, the waiting entries read next are not being
        // chained by anyone else.
        let head = c.query_one(
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
            &[],
        )?;
        let (mut seq, mut prev) = (head.get_i64("seq")?, head.get_str("hash")?);
        let rows = c.query(
            "SELECT id, at, actor_kind, actor, role, department, action, object, result, source, detail
             FROM audit_pending ORDER BY id LIMIT $1",
            params![LINK_BATCH],
        )?;
        if rows.is_empty() {
            return Ok(total);
        }
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            let at = r.get_i64("at")?;
            let e = entry_of(r)?;
            seq += 1;
            let h = hash(&prev, seq, at, &e);
            insert(c, seq, at, &e, &prev, &h)?;
            prev = h;
            ids.push(crate::db::Value::from(r.get_i64("id")?));
        }
        c.execute(HEAD_UPDATE, params![seq, prev.as_str()])?;
        // Exactly the entries chained (one committed meanwhile waits for the next step).
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            c.execute(
                &format!(
                    "DELETE FROM audit_pending WHERE id IN ({})",
                    marks.join(", ")
                ),
                chunk,
            )?;
        }
        total += rows.len();
        if (rows.len() as i64) < LINK_BATCH {
            return Ok(total);
        }
    }
}

/// Chain what is waiting before the log is read (every reader calls this first).
pub async fn settle(db: &crate::db::Db) -> Result<usize, DbError> {
    if db.engine() != Engine::Postgres {
        return Ok(0);
    }
    db.write(link).await
}

/// Chain one entry after the head: its sequence number and hash (SQLite's appends, and the
/// prune entry on both engines; PostgreSQL's appends are chained by [`link`]).
fn chain(c: &mut dyn Conn, e: &Entry, at: i64) -> Result<i64, DbError> {
    let (seq, prev) = head(c)?;
    let seq = seq + 1;
    let h = hash(&prev, seq, at, e);
    insert(c, seq, at, e, &prev, &h)?;
    match c.audit_head() {
        Some(held) => held.moved_to(seq, h),
        None => {
            c.execute(HEAD_UPDATE, params![seq, h.as_str()])?;
        }
    }
    Ok(seq)
}

/// The chain's head as this transaction sees it: the one its write holds (SQLite's batch, see
/// [`HeldHead`]) or the stored row (locked on PostgreSQL).
fn head(c: &mut dyn Conn) -> Result<(i64, String), DbError> {
    if let Some(HeldHead { now: Some(h), .. }) = c.audit_head() {
        return Ok(h.clone());
    }
    let lock = if c.engine() == Engine::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = c.query_one(
        &format!("SELECT seq, hash FROM audit_head WHERE id = 1{lock}"),
        &[],
    )?;
    let h = (row.get_i64("seq")?, row.get_str("hash")?);
    if let Some(held) = c.audit_head() {
        held.now = Some(h.clone());
    }
    Ok(h)
}

const HEAD_UPDATE: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";

/// The chain's head during one SQLite write batch (one transaction that holds the database's
/// write lock, so no one else moves the head meanwhile): read at the batch's first audited
/// write, moved in memory by each append, stored once before the batch commits
/// ([`HeldHead::store`]); a job rolled back to its savepoint puts back the head it found.
/// Two statements fewer per audited write.
#[derive(Debug, Clone, Default)]
pub struct HeldHead {
    now: Option<(i64, String)>,
    moved: bool,
}

impl HeldHead {
    fn moved_to(&mut self, seq: i64, hash: String) {
        self.now = Some((seq, hash));
        self.moved = true;
    }

    /// Store the head if the batch moved it (before its commit, in its transaction).
    pub fn store(&self, c: &mut dyn Conn) -> Result<(), DbError> {
        match &self.now {
            Some((seq, hash)) if self.moved => {
                c.execute(HEAD_UPDATE, params![*seq, hash.as_str()])?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

const INSERT: &str = "INSERT INTO audit_log (seq, at, actor_kind, actor, role, department, action, object, result, source, detail, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// An entry's own fields, in the column order of `audit_log` and `audit_pending`.
fn fields(e: &Entry) -> Vec<crate::db::Value> {
    own_fields(e).into_iter().map(Into::into).collect()
}

/// An entry's own fields in their one order: the columns' and the hash's.
fn own_fields(e: &Entry) -> [&str; 9] {
    [
        &e.actor_kind,
        &e.actor,
        &e.role,
        &e.department,
        &e.action,
        &e.object,
        &e.result,
        &e.source,
        &e.detail,
    ]
}

fn entry_args(seq: i64, at: i64, e: &Entry, prev: &str, h: &str) -> Vec<crate::db::Value> {
    let mut args = vec![seq.into(), at.into()];
    args.extend(fields(e));
    args.push(prev.into());
    args.push(h.into());
    args
}

/// Write one chained entry (the caller holds and moves the head).
fn insert(
    c: &mut dyn Conn,
    seq: i64,
    at: i64,
    e: &Entry,
    prev: &str,
    h: &str,
) -> Result<(), DbError> {
    c.execute(INSERT, &entry_args(seq, at, e, prev, h))?;
    Ok(())
}

fn entry_of(r: &Row) -> Result<Entry, DbError> {
    Ok(Entry {
        actor_kind: r.get_str("actor_kind")?,
        actor: r.get_str("actor")?,
        role: r.get_str("role")?,
        department: r.get_str("department")?,
        action: r.get_str("action")?,
        object: r.get_str("object")?,
        result: r.get_str("result")?,
        source: r.get_str("source")?,
        detail: r.get_str("detail")?,
    })
}

fn stored(r: &Row) -> Result<Stored, DbError> {
    Ok(Stored {
        seq: r.get_i64("seq")?,
        at: r.get_i64("at")?,
        entry: entry_of(r)?,
        prev_hash: r.get_str("prev_hash")?,
        hash: r.get_str("hash")?,
    })
}

const COLUMNS: &str = "seq, at, actor_kind, actor, role, department, action, object, result, source, detail, prev_hash, hash";

/// What walking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    /// The chain holds over this many entries.
    Holds(i64),
    /// The first entry (by position) that breaks it, and why.
    Broken { seq: i64, why: String },
}

/// Walk the whole chain (after chaining what waits: run it in a write transaction).
pub fn verify(c: &mut dyn Conn) -> Result<Chain, DbError> {
    link(c)?;
    let (head_seq, head_hash) = head(c)?;
    let cp = c.query_one("SELECT seq, hash FROM audit_checkpoint WHERE id = 1", &[])?;
    let (cp_seq, cp_hash) = (cp.get_i64("seq")?, cp.get_str("hash")?);
    if cp_seq > 0 {
        // A checkpoint is only valid if a prune entry in the chain recorded exactly it.
        let recorded = c.query_opt(
            "SELECT seq FROM audit_log WHERE action = 'audit.prune' AND detail = $1",
            params![checkpoint_detail(cp_seq, &cp_hash)],
        )?;
        if recorded.is_none() {
            return Ok(Chain::Broken {
                seq: cp_seq,
                why: "the verification checkpoint was moved without an audit.prune entry".into(),
            });
        }
    }
    let mut prev = cp_hash;
    let mut expected_seq = cp_seq + 1;
    let mut after = cp_seq;
    loop {
        let rows = c.query(
            &format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000"),
            params![after],
        )?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let s = stored(r)?;
            if s.seq != expected_seq {
                return Ok(Chain::Broken {
                    seq: expected_seq,
                    why: format!(
                        "entry {expected_seq} is missing (next present is {})",
                        s.seq
                    ),
                });
            }
            if s.prev_hash != prev {
                return Ok(Chain::Broken { seq: s.seq, why: "its previous-hash does not match the entry before it (removed or reordered)"
                        .into() });
            }
            if hash(&prev, s.seq, s.at, &s.entry) != s.hash {
                return Ok(Chain::Broken {
                    seq: s.seq,
                    why: "its content does not match its hash (changed)".into(),
                });
            }
            prev = s.hash;
            expected_seq += 1;
            after = s.seq;
        }
    }
    let last = expected_seq - 1;
    if last != head_seq || prev != head_hash && head_seq > cp_seq {
        return Ok(Chain::Broken { seq: last + 1, why: format!("the chain ends at {last} but {head_seq} entries were written (entries removed from the end)") });
    }
    Ok(Chain::Holds(last))
}

/// Entries younger than the retention period are never deleted.
pub fn may_prune(before: i64, retention_ms: i64, now: i64) -> Result<(), String> {
    if before > now - retention_ms {
        return Err(format!(
            "entries younger than the retention period ({} days) are never deleted; choose a date before that",
            retention_ms / 86_400_000
        ));
    }
    Ok(())
}

fn checkpoint_detail(seq: i64, hash: &str) -> String {
    format!("pruned through {seq} {hash}")
}

/// Delete entries older than `before` (UTC millis) after they were exported, keeping the
/// rest verifiable: the chain then starts at a checkpoint recorded by an `audit.prune` entry.
/// Check [`may_prune`] first. Returns the entries removed.
pub fn prune(c: &mut dyn Conn, before: i64, operator: Entry) -> Result<i64, DbError> {
    link(c)?;
    let first_kept = c
        .query_one(
            "SELECT MIN(seq) AS s FROM audit_log WHERE at >= $1",
            params![before],
        )?
        .get_opt_i64("s")?;
    let last_old = match first_kept {
        Some(s) => s - 1,
        None => c
            .query_one("SELECT COALESCE(MAX(seq), 0) AS s FROM audit_log", &[])?
            .get_i64("s")?,
    };
    let cp = c
        .query_one("SELECT seq FROM audit_checkpoint WHERE id = 1", &[])?
        .get_i64("seq")?;
    if last_old <= cp {
        return Ok(0);
    }
    let hash = c
        .query_one(
            "SELECT hash FROM audit_log WHERE seq = $1",
            params![last_old],
        )?
        .get_str("hash")?;
    let removed = c.execute("DELETE FROM audit_log WHERE seq <= $1", params![last_old])?;
    c.execute(
        "UPDATE audit_checkpoint SET seq = $1, hash = $2 WHERE id = 1",
        params![last_old, hash.as_str()],
    )?;
    // Chained at once on both engines: the checkpoint is valid only with this entry in the chain.
    chain(
        c,
        &Entry {
            action: "audit.prune".into(),
            detail: checkpoint_detail(last_old, &hash),
            ..operator
        },
        crate::time::now_millis(),
    )?;
    Ok(removed as i64)
}

/// Entries at or after `since` (UTC millis), oldest first.
pub fn since(
    c: &mut dyn Conn,
    since: i64,
    limit: i64,
    after_seq: i64,
) -> Result<Vec<Stored>, DbError> {
    c.query(
        &format!(
            "SELECT {COLUMNS} FROM audit_log WHERE at >= $1 AND seq > $2 ORDER BY seq LIMIT $3"
        ),
        params![since, after_seq, limit],
    )?
    .iter()
    .map(stored)
    .collect()
}

#[derive(Debug, Default, Clone)]
pub struct Search {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub object: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Newest first, filtered.
pub fn search(c: &mut dyn Conn, s: &Search) -> Result<(Vec<Stored>, i64), DbError> {
    let mut cond = vec!["1 = 1".to_owned()];
    let mut args: Vec<crate::db::Value> = Vec::new();
    for (col, v) in [("actor", &s.actor), ("object", &s.object)] {
        if let Some(v) = v {
            args.push(v.as_str().into());
            cond.push(format!("{col} = ${}", args.len()));
        }
    }
    if let Some(a) = &s.action {
        args.push(format!("{a}%").into());
        cond.push(format!("action LIKE ${}", args.len()));
    }
    if let Some(f) = s.from {
        args.push(f.into());
        cond.push(format!("at >= ${}", args.len()));
    }
    if let Some(t) = s.to {
        args.push(t.into());
        cond.push(format!("at < ${}", args.len()));
    }
    let w = cond.join(" AND ");
    let total = c
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM audit_log WHERE {w}"),
            &args,
        )?
        .get_i64("n")?;
    args.push(s.limit.into());
    args.push(s.offset.into());
    let n = args.len();
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM audit_log WHERE {w} ORDER BY seq DESC LIMIT ${} OFFSET ${n}",
            n - 1
        ),
        &args,
    )?;
    Ok((rows.iter().map(stored).collect::<Result<_, _>>()?, total))
}

tokio::task_local! {
    /// The peer address of the request being served, set by the server for each request so
    /// that rules can record where an action came from without passing it everywhere.
    pub static SOURCE: String;
}

/// The current request's source address, or `cli` outside a request.
pub fn current_source() -> String {
    SOURCE
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "cli".to_owned())
}

impl Entry {
    /// An entry for `action` on `object` by a staff member.
    pub fn staff(s: &crate::identity::Staff, action: &str, object: &str, result: &str) -> Entry {
        Entry {
            actor_kind: "staff".into(),
            actor: s.username.clone(),
            role: s
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
            department: s.department.code.clone(),
            action: action.into(),
            object: object.into(),
            result: result.into(),
            source: current_source(),
            detail: String::new(),
        }
    }

    /// An entry for `action` on `object` by a citizen account.
    pub fn citizen(account_id: i64, action: &str, object: &str, result: &str) -> Entry {
        Entry {
            actor_kind: "citizen".into(),
            actor: account_id.to_string(),
            role: "applicant".into(),
            department: String::new(),
            action: action.into(),
            object: object.into(),
            result: result.into(),
            source: current_source(),
            detail: String::new(),
        }
    }

    /// An operator's command on the command line.
    pub fn operator(action: &str, object: &str, detail: &str) -> Entry {
        Entry {
            actor_kind: "operator".into(),
            actor: std::env::var("USER").unwrap_or_else(|_| "operator".into()),
            role: "operator".into(),
            department: String::new(),
            action: action.into(),
            object: object.into(),
            result: "ok".into(),
            source: "cli".into(),
            detail: detail.into(),
        }
    }

    pub fn with_detail(mut self, d: impl Into<String>) -> Entry {
        self.detail = d.into();
        self
    }
}

/// Record a refused action in its own transaction (the refused work wrote nothing).
pub async fn record(db: &crate::db::Db, e: Entry) {
    if let Err(err) = db.write(move |c| append(c, &e)).await {
        tracing::error!(error = %err, "cannot write the audit log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_covers_every_field() {
        let e = Entry {
            actor: "wjw".into(),
            action: "case.accept".into(),
            object: "X1".into(),
            ..Entry::default()
        };
        let h = hash(GENESIS, 1, 1000, &e);
        assert_eq!(h.len(), 64);
        for changed in [
            Entry {
                actor: "wjx".into(),
                ..e.clone()
            },
            Entry {
                action: "case.reject".into(),
                ..e.clone()
            },
            Entry {
                object: "X2".into(),
                ..e.clone()
            },
            Entry {
                source: "1.2.3.4".into(),
                ..e.clone()
            },
        ] {
            assert_ne!(hash(GENESIS, 1, 1000, &changed), h);
        }
        assert_ne!(hash(GENESIS, 2, 1000, &e), h);
        assert_ne!(hash(GENESIS, 1, 1001, &e), h);
    }
}
