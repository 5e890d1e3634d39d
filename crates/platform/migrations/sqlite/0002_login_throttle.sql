-- Failed-login counters shared by all nodes: per account (locks it for a while after too
-- many failures) and per source address (slows guessing across accounts).
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
