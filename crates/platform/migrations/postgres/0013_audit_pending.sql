-- Audit entries written by transactions on PostgreSQL, not yet chained. Chaining in the
-- writer's own transaction held the chain's head row until its commit, so only one audited
-- write could commit at a time on all nodes together; entries now wait here (committed with
-- what they record) and are chained in order by `audit::link`, which the worker runs every
-- interval and every reader of the log runs first. SQLite chains at once (one writer).
CREATE TABLE audit_pending (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    department TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    result TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL
);
