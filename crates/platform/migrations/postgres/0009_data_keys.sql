-- Fingerprints (SM3-HMAC of a fixed label under the key) of the data keys and of the
-- blind-index key ('#index'), so that every process can check its key file against the
-- database before it seals or opens anything. The keys themselves never enter the database.
CREATE TABLE data_keys (
    key_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- What the last complete sealing pass covered (current key id, the registry of sealed
-- columns, the upload folder): a start-up whose pass would find nothing skips the scan.
CREATE TABLE sealing_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
