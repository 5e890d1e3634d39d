-- Other Tongban deployments (a city and its province) this one exchanges with: each named,
-- reached at a URL, and known by its pinned SM2 public key. A call signed by a peer's key
-- comes from its departments, named here `{peer}/{department}`.
CREATE TABLE exchange_peers (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    public_key TEXT NOT NULL,
    key_id TEXT NOT NULL UNIQUE,
    added_at BIGINT NOT NULL
);
