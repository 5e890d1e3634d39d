-- Rows a background follower could not process: it records them here and moves past them,
-- so one bad row never stops the others. `retry` marks a row to be tried again
-- (`tongban followers retry`); a row that succeeds on retry leaves the table.
CREATE TABLE follower_quarantine (
    follower TEXT NOT NULL,
    row_ref TEXT NOT NULL,
    error TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_tried BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    retry BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (follower, row_ref)
);
