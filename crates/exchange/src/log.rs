//! The message log: every exchange, answered or refused, with the digests of what was asked
//! and answered (never the data itself), chained with SM3 so that `tongban exchange verify`
//! finds the first entry changed, removed or reordered. Appends take the head row first,
//! which serializes them on either engine.

use serde::Serialize;
use serde_json::json;
use tongban_platform::db::{Conn, DbError, Row, Value};
use tongban_platform::params;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Entry {
    pub message_id: String,
    pub at: i64,
    pub consumer: String,
    pub provider: String,
    pub service: String,
    pub purpose: String,
    /// The case or work order the exchange serves.
    pub subject: String,
    /// `ok`, or the error code the call was refused with.
    pub outcome: String,
    /// The key that signed the request (empty when it could not be read).
    pub key_id: String,
    pub request_digest: String,
    pub response_digest: String,
    pub elapsed_us: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stored {
    pub seq: i64,
    #[serde(flatten)]
    pub entry: Entry,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of entry `seq` after `prev`: SM3 over the previous hash and the entry's
/// canonical JSON.
pub fn hash(prev: &str, seq: i64, e: &Entry) -> String {
    let v = json!({"seq": seq, "entry": e});
    tongban_platform::crypto::sm3_hex(
        format!("{prev}\n{}", crate::canonical::canonical(&v)).as_bytes(),
    )
}

/// Log an exchange answered with `response_digest`; its sequence number (`None`: its message
/// id was logged before, a replay).
pub async fn answered(
    db: &tongban_platform::db::Db,
    mut e: Entry,
    response_digest: String,
) -> Result<Option<i64>, DbError> {
    e.outcome = "ok".into();
    e.response_digest = response_digest;
    db.write(move |c| append(c, &e)).await
}

/// Log an exchange refused with `err` (its code is the outcome).
pub async fn refused(
    db: &tongban_platform::db::Db,
    mut e: Entry,
    err: &crate::ExchangeError,
) -> Result<(), DbError> {
    e.outcome = err.code().to_owned();
    db.write(move |c| append(c, &e).map(|_| ())).await
}

/// Whether a message id was logged before (a replay).
pub fn seen(c: &mut dyn Conn, message_id: &str) -> Result<bool, DbError> {
    Ok(c.query_opt(
        "SELECT seq FROM exchange_log WHERE message_id = $1",
        params![message_id],
    )?
    .is_some())
}

/// Append `e` to the chain; its sequence number. Refuses (as a replay) a message id logged
/// before, checked under the head's lock.
pub fn append(c: &mut dyn Conn, e: &Entry) -> Result<Option<i64>, DbError> {
    // Take the head's row lock (PostgreSQL; SQLite has one writer) before anything is read.
    c.execute("UPDATE exchange_log_head SET seq = seq WHERE id = 1", &[])?;
    if seen(c, &e.message_id)? {
        return Ok(None);
    }
    let head = c.query_one("SELECT seq, hash FROM exchange_log_head WHERE id = 1", &[])?;
    let (seq, prev) = (head.get_i64("seq")? + 1, head.get_str("hash")?);
    let h = hash(&prev, seq, e);
    c.execute(
        "INSERT INTO exchange_log (seq, message_id, at, consumer, provider, service, purpose, subject, outcome,
                                   key_id, request_digest, response_digest, elapsed_us, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        params![
            seq,
            e.message_id.as_str(),
            e.at,
            e.consumer.as_str(),
            e.provider.as_str(),
            e.service.as_str(),
            e.purpose.as_str(),
            e.subject.as_str(),
            e.outcome.as_str(),
            e.key_id.as_str(),
            e.request_digest.as_str(),
            e.response_digest.as_str(),
            e.elapsed_us,
            prev.as_str(),
            h.as_str()
        ],
    )?;
    c.execute(
        "UPDATE exchange_log_head SET seq = $1, hash = $2 WHERE id = 1",
        params![seq, h.as_str()],
    )?;
    Ok(Some(seq))
}

fn stored(r: &Row) -> Result<Stored, DbError> {
    Ok(Stored {
        seq: r.get_i64("seq")?,
        entry: Entry {
            message_id: r.get_str("message_id")?,
            at: r.get_i64("at")?,
            consumer: r.get_str("consumer")?,
            provider: r.get_str("provider")?,
            service: r.get_str("service")?,
            purpose: r.get_str("purpose")?,
            subject: r.get_str("subject")?,
            outcome: r.get_str("outcome")?,
            key_id: r.get_str("key_id")?,
            request_digest: r.get_str("request_digest")?,
            response_digest: r.get_str("response_digest")?,
            elapsed_us: r.get_i64("elapsed_us")?,
        },
        prev_hash: r.get_str("prev_hash")?,
        hash: r.get_str("hash")?,
    })
}

/// Entries of a department (as consumer or provider) or of a case, newest first, with their
/// total.
pub fn search(
    c: &mut dyn Conn,
    department: Option<&str>,
    subject: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Stored>, i64), DbError> {
    let (filter, mut args) = match (department, subject) {
        (Some(d), Some(s)) => (
            "WHERE (consumer = $1 OR provider = $1) AND subject = $2",
            vec![Value::from(d), Value::from(s)],
        ),
        (Some(d), None) => ("WHERE consumer = $1 OR provider = $1", vec![Value::from(d)]),
        (None, Some(s)) => ("WHERE subject = $1", vec![Value::from(s)]),
        (None, None) => ("WHERE 1 = 1", Vec::new()),
    };
    let n = args.len();
    let total = c
        .query_one(
            &format!("SELECT COUNT(*) AS n FROM exchange_log {filter}"),
            &args,
        )?
        .get_i64("n")?;
    args.push(limit.into());
    args.push(offset.into());
    let rows = c.query(
        &format!(
            "SELECT * FROM exchange_log {filter} ORDER BY seq DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        &args,
    )?;
    Ok((rows.iter().map(stored).collect::<Result<_, _>>()?, total))
}

/// What a walk of the chain found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chain {
    pub entries: i64,
    /// The first entry that does not hold, and why.
    pub broken: Option<(i64, String)>,
}

/// Walk the chain from the first entry, a thousand at a time.
pub fn verify(c: &mut dyn Conn) -> Result<Chain, DbError> {
    let (mut prev, mut last, mut n) = (String::new(), 0i64, 0i64);
    loop {
        let rows = c.query(
            "SELECT * FROM exchange_log WHERE seq > $1 ORDER BY seq LIMIT 1000",
            params![last],
        )?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let s = stored(r)?;
            let why = if s.seq != last + 1 {
                Some(format!(
                    "entry {} is missing (the next is {})",
                    last + 1,
                    s.seq
                ))
            } else if s.prev_hash != prev {
                Some("its previous hash does not match the entry before it".to_owned())
            } else if hash(&prev, s.seq, &s.entry) != s.hash {
                Some(
                    "its content does not match its hash (changed after it was written)".to_owned(),
                )
            } else {
                None
            };
            if let Some(why) = why {
                return Ok(Chain {
                    entries: n,
                    broken: Some((s.seq.min(last + 1), why)),
                });
            }
            prev = s.hash;
            last = s.seq;
            n += 1;
        }
    }
    let head = c.query_one("SELECT seq, hash FROM exchange_log_head WHERE id = 1", &[])?;
    if head.get_i64("seq")? != last || head.get_str("hash")? != prev {
        return Ok(Chain {
            entries: n,
            broken: Some((
                last + 1,
                format!(
                    "the log ends at entry {last}, but its head records entry {}: entries were removed from the end",
                    head.get_i64("seq")?
                ),
            )),
        });
    }
    Ok(Chain {
        entries: n,
        broken: None,
    })
}
