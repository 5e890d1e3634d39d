//! How the busiest paths reach PostgreSQL: write jobs that wait for no answer share one
//! savepoint (one subtransaction, not one each), and hot reads sent in one flight
//! (`Db::fetch`) are planned once per connection. On SQLite the same calls simply work.

use crate::helpers::*;
use crate::on_both_engines;
use tongban_platform::db::Engine as DbEngine;

// Jobs whose statements all travel "later" join the savepoint of the job before them: on
// PostgreSQL their rows carry far fewer transaction ids than there were jobs (one each
// before), and every job still commits with its rows.
on_both_engines!(
    jobs_that_wait_for_nothing_share_a_savepoint,
    |app: TestApp| async move {
        let db = app.db();
        db.write(|c| c.batch("CREATE TABLE run_probe (n BIGINT PRIMARY KEY, k BIGINT NOT NULL)"))
            .await
            .unwrap();
        const JOBS: i64 = 400;
        let tasks: Vec<_> = (0..JOBS)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |c| {
                        let insert = "INSERT INTO run_probe (n, k) VALUES ($1, $2)";
                        c.execute_later(insert, tongban_platform::params![n, 0i64])?;
                        c.execute_later(insert, tongban_platform::params![n + 100_000, 1i64])
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let postgres = db.engine() == DbEngine::Postgres;
        let (rows, ids) = db
            .read(move |c| {
                let rows = c
                    .query_one("SELECT COUNT(*) AS n FROM run_probe", &[])?
                    .get_i64("n")?;
                let ids = if postgres {
                    c.query_one("SELECT COUNT(DISTINCT xmin::text) AS n FROM run_probe", &[])?
                        .get_i64("n")?
                } else {
                    0
                };
                Ok((rows, ids))
            })
            .await
            .unwrap();
        assert_eq!(rows, 2 * JOBS, "every job committed both rows");
        if postgres {
            assert!(
            ids < JOBS / 2,
            "{ids} transaction ids for {JOBS} jobs: jobs that wait for nothing did not share savepoints"
        );
        }
    }
);

// A statement fetched in one flight is planned once per connection on PostgreSQL: a queue
// page's LIMIT and OFFSET are parameters, which PostgreSQL would otherwise plan again at every
// run. The answers are the same on both engines.
on_both_engines!(hot_reads_are_planned_once, |app: TestApp| async move {
    let db = app.db();
    let answers = db
        .fetch(&[(
            "SELECT n FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) t ORDER BY n LIMIT $1 OFFSET $2",
            tongban_platform::params![1i64, 1i64],
        )])
        .await
        .unwrap();
    assert_eq!(answers[0].len(), 1);
    assert_eq!(answers[0][0].get_i64("n").unwrap(), 2);
    if db.engine() == DbEngine::Postgres {
        for snapshot_of_two in [false, true] {
            let mut queries: Vec<(&str, &[tongban_platform::db::Value])> =
                vec![("SELECT current_setting('plan_cache_mode') AS m", &[])];
            if snapshot_of_two {
                queries.push(("SELECT 1 AS n", &[]));
            }
            let a = db.fetch(&queries).await.unwrap();
            assert_eq!(a[0][0].get_str("m").unwrap(), "force_generic_plan");
        }
        // Other reads and writes keep PostgreSQL's own choice.
        let mode = db
            .read(|c| {
                c.query_one("SELECT current_setting('plan_cache_mode') AS m", &[])?
                    .get_str("m")
            })
            .await
            .unwrap();
        assert_eq!(mode, "auto");
    }
});

// New rows' numbers and ids are taken from PostgreSQL's sequences a block at a time and
// handed out from memory: two nodes taking at once never hand out the same number or id,
// each node's numbers rise, and the sequence moves by whole blocks (past the 200 handed
// out: the rest wait in memory; exactly 200 if each was taken alone). SQLite
// takes none ahead (its numbers are rows of the write).
on_both_engines!(
    numbers_are_taken_ahead_in_blocks,
    |app: TestApp| async move {
        use tongban_platform::identity::take_number;
        const ID: &str = "nextval(pg_get_serial_sequence('cases', 'id')) AS id";
        let db = app.db().clone();
        if db.engine() == DbEngine::Sqlite {
            assert_eq!(take_number(&db, ID).await.unwrap(), None);
            return;
        }
        let url = app.ctx.config.database_url.clone();
        let other = tokio::task::spawn_blocking(move || tongban_platform::db::Db::open(&url))
            .await
            .unwrap()
            .unwrap();
        let calls = |db: tongban_platform::db::Db| async move {
            let mut taken = Vec::new();
            for _ in 0..100 {
                taken.push(take_number(&db, ID).await.unwrap().unwrap());
            }
            taken
        };
        let before = sequence_calls(&db).await;
        let (a, b) = tokio::join!(calls(db.clone()), calls(other));
        for node in [&a, &b] {
            assert!(
                node.windows(2).all(|w| w[0].number < w[1].number),
                "a node hands out rising numbers"
            );
        }
        let numbers: std::collections::HashSet<i64> =
            a.iter().chain(&b).map(|t| t.number).collect();
        let ids: std::collections::HashSet<i64> = a.iter().chain(&b).map(|t| t.id).collect();
        assert_eq!(numbers.len(), 200, "numbers handed out twice");
        assert_eq!(ids.len(), 200, "ids handed out twice");
        let taken = sequence_calls(&db).await - before;
        assert!(
        taken > 200 && taken < 400,
        "{taken} values taken from the sequence for 200 numbers: not taken in blocks, or blocks lost"
    );
    }
);

/// How far `numbers_seq` has moved (its last value).
async fn sequence_calls(db: &tongban_platform::db::Db) -> i64 {
    db.take(&[("SELECT last_value AS n FROM numbers_seq", &[])])
        .await
        .unwrap()[0][0]
        .get_i64("n")
        .unwrap()
}
