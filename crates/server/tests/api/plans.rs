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
