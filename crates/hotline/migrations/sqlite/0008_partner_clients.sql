-- An Open311 partner that calls with an OAuth access token (client credentials) instead of
-- a key: its row names the identity room's client.
ALTER TABLE api_keys ADD COLUMN oauth_client TEXT;
CREATE UNIQUE INDEX api_keys_oauth_client ON api_keys (oauth_client);
