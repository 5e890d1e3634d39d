//! A transaction whose rules refuse returns the room's own error and leaves nothing behind
//! (no `Result<Result<…>>`: `Db::transact` rolls back and hands the error over as it was).

use crate::helpers::*;
use crate::on_both_engines;
use tongban_platform::ApiError;

on_both_engines!(
    a_refused_transaction_leaves_nothing,
    |app: TestApp| async move {
        let refused: Result<i64, ApiError> = app
            .db()
            .transact(|c| {
                tongban_platform::identity::next_counter(c, "transact-test")?;
                Err(ApiError::conflict(
                    "changed_meanwhile",
                    "refused by the rules",
                ))
            })
            .await;
        let e = refused.unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.status.as_u16()),
            ("changed_meanwhile", 409)
        );
        // The counter was never taken: the next one is the first.
        let first: Result<i64, ApiError> = app
            .db()
            .transact(|c| {
                Ok(tongban_platform::identity::next_counter(
                    c,
                    "transact-test",
                )?)
            })
            .await;
        assert_eq!(first.unwrap(), 1, "the refused transaction was rolled back");
        // Reads may refuse the same way.
        let seen: Result<(), ApiError> = app
            .db()
            .view(|_| Err(ApiError::not_found("case_not_found", "none")))
            .await;
        assert_eq!(seen.unwrap_err().code, "case_not_found");
    }
);

// A one-statement read runs without a transaction on PostgreSQL (two round trips fewer);
// a second statement there is refused rather than silently outside one snapshot.
on_both_engines!(single_statement_reads, |app: TestApp| async move {
    let one = app
        .db()
        .read_single(|c| c.query_one("SELECT 41 + 1 AS n", &[])?.get_i64("n"))
        .await
        .unwrap();
    assert_eq!(one, 42);
    let two = app
        .db()
        .read_single(|c| {
            c.query_one("SELECT 1 AS n", &[])?;
            c.query_one("SELECT 2 AS n", &[])?.get_i64("n")
        })
        .await;
    match app.db().engine() {
        tongban_platform::db::Engine::Postgres => assert!(two.is_err(), "{two:?}"),
        tongban_platform::db::Engine::Sqlite => assert_eq!(two.unwrap(), 2),
    }
});

// Independent queries asked together come back in order, inside the read's snapshot (on
// PostgreSQL in one flight, the transaction's BEGIN first); a failing one fails the read.
on_both_engines!(queries_asked_together, |app: TestApp| async move {
    let c = app.citizen().await;
    let case_no = app.submit_birth(&c).await;
    let no = case_no.clone();
    let (first, second, third) = app
        .db()
        .read(move |c| {
            let p = tongban_platform::params![no.as_str()];
            let answers = c.query_many(&[
                ("SELECT 1 AS n", &[]),
                ("SELECT case_no FROM cases WHERE case_no = $1", p),
                ("SELECT 3 AS n UNION ALL SELECT 4 AS n ORDER BY n", &[]),
            ])?;
            assert_eq!(answers.len(), 3);
            Ok((
                answers[0][0].get_i64("n")?,
                answers[1][0].get_str("case_no")?,
                answers[2]
                    .iter()
                    .map(|r| r.get_i64("n"))
                    .collect::<Result<Vec<_>, _>>()?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(
        (first, second.as_str(), third),
        (1, case_no.as_str(), vec![3, 4])
    );
    let bad = app
        .db()
        .read(|c| {
            c.query_many(&[
                ("SELECT 1 AS n", &[]),
                ("SELECT no_such_column FROM cases", &[]),
            ])
        })
        .await;
    assert!(bad.is_err(), "{bad:?}");
    // The connection is fine afterwards, and so is the case view built this way.
    let r = app
        .get(&app.url(&format!("/api/v1/cases/{case_no}")), &c.token)
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["timeline"].as_array().map(Vec::len), Some(1), "{v}");
});

// Hot reads fetched in one flight (`Db::fetch`): answers in order, several queries on one
// snapshot, a failed flight leaves no broken client behind, and many at once all answer.
on_both_engines!(reads_fetched_in_one_flight, |app: TestApp| async move {
    let c = app.citizen().await;
    let case_no = app.submit_birth(&c).await;
    let db = app.db().clone();
    let p = tongban_platform::params![case_no.as_str()];
    let answers = db
        .fetch(&[
            ("SELECT 1 AS n", &[]),
            ("SELECT case_no FROM cases WHERE case_no = $1", p),
            ("SELECT 3 AS n UNION ALL SELECT 4 AS n ORDER BY n", &[]),
        ])
        .await
        .unwrap();
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0][0].get_i64("n").unwrap(), 1);
    assert_eq!(answers[1][0].get_str("case_no").unwrap(), case_no);
    assert_eq!(answers[2].len(), 2);
    // Several queries share one snapshot: a count and its rows agree while another task
    // writes.
    let writer = {
        let db = db.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                db.write(move |c| {
                    tongban_platform::identity::next_counter(c, &format!("snapshot-{i}"))
                })
                .await
                .unwrap();
            }
        })
    };
    for _ in 0..50 {
        let a = db
            .fetch(&[
                ("SELECT COUNT(*) AS n FROM counters", &[]),
                ("SELECT name FROM counters", &[]),
            ])
            .await
            .unwrap();
        assert_eq!(a[0][0].get_i64("n").unwrap() as usize, a[1].len());
    }
    writer.await.unwrap();
    let bad = db
        .fetch(&[
            ("SELECT 1 AS n", &[]),
            ("SELECT no_such_column FROM cases", &[]),
        ])
        .await;
    assert!(bad.is_err(), "{bad:?}");
    let many: Vec<_> = (0..64)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                let n = tongban_platform::params![i as i64];
                db.fetch(&[("SELECT CAST($1 AS BIGINT) AS n", n)])
                    .await
                    .map(|a| a[0][0].get_i64("n"))
            })
        })
        .collect();
    for (i, t) in many.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().unwrap().unwrap(), i as i64);
    }
});

// Concurrent writes share commits (group commit, on both engines): each job runs in a
// savepoint of its own (those that wait for no answer share one, see `plans.rs`), so a job refused by its rules, or one that goes on after the database refused
// its statement, rolls back alone while the jobs beside it commit.
on_both_engines!(writes_commit_in_groups, |app: TestApp| async move {
    use tongban_platform::db::Engine;
    let db = app.db();
    db.write(|c| c.batch("CREATE TABLE group_probe (n BIGINT PRIMARY KEY, tx TEXT NOT NULL)"))
        .await
        .unwrap();
    let postgres = db.engine() == Engine::Postgres;
    let mut tasks = Vec::new();
    for n in 0..300i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let out: Result<String, ApiError> = db
                .transact(move |c| {
                    // The transaction's id: jobs committed together share it.
                    let tx = match c.engine() {
                        Engine::Postgres => c
                            .query_one("SELECT txid_current()::text AS tx", &[])?
                            .get_str("tx")?,
                        Engine::Sqlite => String::new(),
                    };
                    c.execute(
                        "INSERT INTO group_probe (n, tx) VALUES ($1, $2)",
                        tongban_platform::params![n, tx.as_str()],
                    )?;
                    match n % 3 {
                        1 => Err(ApiError::conflict("changed_meanwhile", "refused")),
                        2 => {
                            // The database refuses this one; the job ignores that.
                            let again = c.execute(
                                "INSERT INTO group_probe (n, tx) VALUES ($1, '')",
                                tongban_platform::params![n],
                            );
                            assert!(again.is_err(), "a duplicate key was accepted");
                            Ok(tx)
                        }
                        _ => Ok(tx),
                    }
                })
                .await;
            (n, out)
        }));
    }
    let mut committed = Vec::new();
    let mut transactions = std::collections::HashSet::new();
    for t in tasks {
        let (n, out) = t.await.unwrap();
        match (n % 3, out) {
            (0, Ok(tx)) => {
                committed.push(n);
                transactions.insert(tx);
            }
            (1, Err(e)) => assert_eq!(e.code, "changed_meanwhile"),
            // On PostgreSQL a refused statement aborts its transaction: the job is rolled
            // back and told so, rather than committed without its writes. SQLite undoes only
            // the refused statement.
            (2, Err(_)) if postgres => {}
            (2, Ok(_)) if !postgres => committed.push(n),
            (k, other) => panic!("job {n} (kind {k}): {other:?}"),
        }
    }
    let stored: Vec<i64> = db
        .read(|c| {
            c.query("SELECT n FROM group_probe ORDER BY n", &[])?
                .iter()
                .map(|r| r.get_i64("n"))
                .collect()
        })
        .await
        .unwrap();
    committed.sort_unstable();
    assert_eq!(stored, committed, "exactly the accepted jobs are stored");
    if postgres {
        assert!(
            transactions.len() < 100,
            "100 concurrent jobs committed in {} transactions: no grouping",
            transactions.len()
        );
    }
});

// A statement run "later" (nothing waits for its answer) is seen by the job's next statement,
// is committed with the job, and when it fails, fails the job and leaves nothing behind,
// whether another statement follows it or not.
on_both_engines!(statements_sent_later, |app: TestApp| async move {
    let db = app.db();
    let insert = |n: i64| {
        move |c: &mut dyn tongban_platform::db::Conn| {
            c.execute_later(
                "INSERT INTO later_probe (n) VALUES ($1)",
                tongban_platform::params![n],
            )
        }
    };
    db.write(|c| c.batch("CREATE TABLE later_probe (n BIGINT PRIMARY KEY)"))
        .await
        .unwrap();
    let seen = db
        .write(move |c| {
            insert(1)(c)?;
            insert(2)(c)?;
            c.query_one("SELECT COUNT(*) AS n FROM later_probe", &[])?
                .get_i64("n")
        })
        .await
        .unwrap();
    assert_eq!(seen, 2, "the next statement sees what was sent before it");
    db.write(insert(3)).await.unwrap();
    let failed_last = db
        .write(move |c| {
            insert(4)(c)?;
            insert(1)(c)
        })
        .await;
    assert!(failed_last.is_err(), "a duplicate sent last was accepted");
    let failed_before = db
        .write(move |c| {
            insert(5)(c)?;
            insert(2)(c)?;
            c.query_one("SELECT 1 AS n", &[])?;
            Ok(())
        })
        .await;
    assert!(
        failed_before.is_err(),
        "a duplicate sent earlier was accepted"
    );
    let stored: Vec<i64> = db
        .read(|c| {
            c.query("SELECT n FROM later_probe ORDER BY n", &[])?
                .iter()
                .map(|r| r.get_i64("n"))
                .collect()
        })
        .await
        .unwrap();
    assert_eq!(stored, vec![1, 2, 3]);
});

// What is taken before a write (`Db::take`) is taken for good, statement by statement, and
// may change the database (a counter here; a sequence's next value on PostgreSQL), which a
// read snapshot (`Db::fetch`) refuses on PostgreSQL.
on_both_engines!(values_taken_before_a_write, |app: TestApp| async move {
    use tongban_platform::identity::next_number_query;
    let db = app.db();
    let (sql, args) = next_number_query(db.engine(), "take-probe");
    let mut seen = Vec::new();
    for _ in 0..3 {
        let answers = db
            .take(&[(sql, &args), ("SELECT 7 AS n", &[])])
            .await
            .unwrap();
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[1][0].get_i64("n").unwrap(), 7);
        seen.push(answers[0][0].get_i64("value").unwrap());
    }
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "numbers taken are new each time: {seen:?}"
    );
    // A refused statement is an error, not a silent empty answer.
    assert!(db
        .take(&[("SELECT * FROM no_such_table", &[])])
        .await
        .is_err());
});

// Jobs that wait for no answer (every statement sent "later") are sent with the jobs after
// them, so a refusal may be found after its job returned: exactly that job is refused and
// rolled back, the jobs queued behind it are sent again and commit, and the jobs that waited
// for answers see theirs.
on_both_engines!(late_refusals_in_a_group, |app: TestApp| async move {
    let db = app.db();
    db.write(|c| {
        c.batch("CREATE TABLE late_probe (n BIGINT PRIMARY KEY)")?;
        for n in 0..100i64 {
            // Taken already: a job that inserts 10_000 + k is refused.
            c.execute(
                "INSERT INTO late_probe (n) VALUES ($1)",
                tongban_platform::params![10_000 + n],
            )?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for n in 0..400i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let out = db
                .write(move |c| {
                    let insert = "INSERT INTO late_probe (n) VALUES ($1)";
                    c.execute_later(insert, tongban_platform::params![n])?;
                    match n % 4 {
                        // Refused after the job returned.
                        1 => c.execute_later(insert, tongban_platform::params![10_000 + n % 100]),
                        // Waits for an answer, which must count its own insert.
                        2 => {
                            let seen = c
                                .query_one(
                                    "SELECT COUNT(*) AS k FROM late_probe WHERE n = $1",
                                    tongban_platform::params![n],
                                )?
                                .get_i64("k")?;
                            assert_eq!(seen, 1, "job {n} does not see its own insert");
                            Ok(())
                        }
                        // Refused as it waits.
                        3 => {
                            c.execute_later(insert, tongban_platform::params![10_000 + n % 100])?;
                            c.query_one("SELECT 1 AS k", &[]).map(|_| ())
                        }
                        _ => Ok(()),
                    }
                })
                .await;
            (n, out)
        }));
    }
    let mut committed = Vec::new();
    for t in tasks {
        let (n, out) = t.await.unwrap();
        match (n % 4, out) {
            (0 | 2, Ok(())) => committed.push(n),
            (1 | 3, Err(_)) => {}
            (k, other) => panic!("job {n} (kind {k}): {other:?}"),
        }
    }
    let stored: Vec<i64> = db
        .read(|c| {
            c.query("SELECT n FROM late_probe WHERE n < 10000 ORDER BY n", &[])?
                .iter()
                .map(|r| r.get_i64("n"))
                .collect()
        })
        .await
        .unwrap();
    committed.sort_unstable();
    assert_eq!(committed.len(), 200);
    assert_eq!(stored, committed, "exactly the accepted jobs are stored");
});

// A background follower's writes (`db::apart`) are transactions of their own on PostgreSQL:
// a long one does not hold up the requests' writes committed in groups behind it. On both
// engines they commit.
on_both_engines!(background_writes_stand_apart, |app: TestApp| async move {
    use tongban_platform::db::Engine;
    let db = app.db();
    let postgres = db.engine() == Engine::Postgres;
    let slow = {
        let db = db.clone();
        tokio::spawn(tongban_platform::db::apart(async move {
            db.write(move |c| {
                if postgres {
                    c.query_one("SELECT pg_sleep(1.5)::text AS slept", &[])?;
                }
                tongban_platform::identity::next_counter(c, "apart-slow")
            })
            .await
        }))
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let quick = db
        .write(|c| tongban_platform::identity::next_counter(c, "apart-quick"))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(quick, 1);
    assert_eq!(
        slow.await.unwrap().unwrap(),
        1,
        "the background write committed"
    );
    if postgres {
        assert!(
            waited < std::time::Duration::from_millis(900),
            "a request's write waited {waited:?} behind a background one"
        );
    }
});

// A queued statement whose answer is long (many rows) followed, in the same job, by a
// statement whose answer is awaited: PostgreSQL's answers come in order, so the long one must
// be taken as it arrives while the awaited one is waited for. Left untaken, the connection
// stops reading and the job waits for ever (it did, now and then, under load).
on_both_engines!(a_long_answer_queued_ahead, |app: TestApp| async move {
    use tongban_platform::db::Engine;
    let db = app.db();
    let insert = match db.engine() {
        Engine::Postgres => {
            "INSERT INTO long_probe (n) SELECT g FROM generate_series(1, 100000) g RETURNING n"
        }
        Engine::Sqlite => {
            "INSERT INTO long_probe (n) WITH RECURSIVE s(g) AS \
             (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < 100000) SELECT g FROM s"
        }
    };
    let job = db.write(move |c| {
        c.batch("CREATE TABLE long_probe (n BIGINT PRIMARY KEY)")?;
        let count = "SELECT COUNT(*) AS k FROM long_probe";
        // Prepared already, so that nothing flushes the queue before it is asked.
        c.query_one(count, &[])?;
        c.execute_later(insert, &[])?;
        c.query_one(count, &[])?.get_i64("k")
    });
    let seen = tokio::time::timeout(std::time::Duration::from_secs(30), job)
        .await
        .expect("the job waited for ever behind a long queued answer")
        .unwrap();
    assert_eq!(seen, 100_000);
});

// Single statements from many requests share connections on PostgreSQL (their queries are
// pipelined together): each gets its own answer, and one refused statement fails only its
// own request.
on_both_engines!(shared_reads_keep_their_answers, |app: TestApp| async move {
    let db = app.db();
    let mut tasks = Vec::new();
    for n in 0..300i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            // Every seventh divides by zero: refused.
            let divisor = if n % 7 == 0 { 0 } else { 1 };
            let out = db
                .fetch(&[(
                    "SELECT CAST($1 AS BIGINT) / CAST($2 AS BIGINT) AS n",
                    tongban_platform::params![n, divisor],
                )])
                .await;
            (n, out)
        }));
    }
    for t in tasks {
        let (n, out) = t.await.unwrap();
        if n % 7 == 0 {
            if db.engine() == tongban_platform::db::Engine::Postgres {
                assert!(out.is_err(), "request {n} divided by zero and was answered");
            }
            continue;
        }
        let rows = out.unwrap_or_else(|e| panic!("request {n} failed: {e}"));
        assert_eq!(
            rows[0][0].get_i64("n").unwrap(),
            n,
            "request {n} got another's answer"
        );
    }
});
