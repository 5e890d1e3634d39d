-- Events for followers (notifications first). A worker claims due rows; on PostgreSQL with
-- FOR UPDATE SKIP LOCKED, so several nodes never deliver one event twice.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    done_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox (done_at, next_at);
