-- The synonym list searches expand queries with (`term = other terms` per line), edited by
-- administrators; without a row, the list shipped with the binary.
CREATE TABLE search_synonyms (
    id BIGINT PRIMARY KEY,
    list TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
