-- Partner apps call APIs as themselves (OAuth 2.0 client credentials), each with its own
-- rate: calls a minute across every node.
ALTER TABLE oidc_clients ADD COLUMN rate_per_minute BIGINT NOT NULL DEFAULT 600;
