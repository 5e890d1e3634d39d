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
