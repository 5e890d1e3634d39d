-- Where verification of the audit chain starts once old entries were archived and pruned
-- (seq 0 and the genesis hash until then). Every move of it is itself an audit entry.
CREATE TABLE audit_checkpoint (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_checkpoint (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
