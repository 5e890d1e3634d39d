-- The search index is derived data, kept by each node in memory. This row asks every node to
-- build its index afresh (`tongban search rebuild`): a node whose index is older rebuilds.
CREATE TABLE search_rebuilds (
    id BIGINT PRIMARY KEY,
    requested_at BIGINT NOT NULL
);
