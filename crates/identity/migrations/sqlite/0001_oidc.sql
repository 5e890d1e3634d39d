-- The OpenID Connect provider. Clients are registered by an admin with exact redirect URIs;
-- secrets, codes and tokens are kept only as SM3 hashes.
CREATE TABLE oidc_clients (
    client_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- NULL for a public client (a phone app): PKCE alone proves it.
    secret_hash TEXT,
    -- JSON list of exact redirect URIs.
    redirect_uris TEXT NOT NULL,
    -- Space-separated scopes the client may ask for.
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    disabled_at BIGINT
);

-- The provider's signing keys; the private half sealed (SM4) like other secrets.
CREATE TABLE oidc_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- Authorization codes: one use, a minute, bound to the client, the redirect URI and the
-- PKCE challenge.
CREATE TABLE oidc_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Access and refresh tokens. A family is every token descended from one code; a refresh
-- token used twice revokes its whole family.
CREATE TABLE oidc_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    family TEXT NOT NULL,
    client_id TEXT NOT NULL,
    account_id BIGINT,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX oidc_tokens_family ON oidc_tokens (family);
CREATE INDEX oidc_tokens_account ON oidc_tokens (account_id, client_id);

-- What a citizen has allowed each client to know.
CREATE TABLE oidc_consents (
    account_id BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);
