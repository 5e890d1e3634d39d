-- E-certificates (电子证照): their types, and the certificates issued. A certificate's
-- content is personal data: sealed; its holder is found by the blind index of the ID number.

-- A type says who issues it, which matter's approval issues it, which fields of the
-- application it carries (JSON: [{"key", "label"}]) and for how many days it holds (0: no
-- expiry).
CREATE TABLE certificate_types (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    issuer TEXT NOT NULL,
    matter_code TEXT,
    fields TEXT NOT NULL,
    validity_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX certificate_types_matter ON certificate_types (matter_code);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    type_code TEXT NOT NULL,
    issuer TEXT NOT NULL,
    holder_index TEXT NOT NULL,
    case_no TEXT,
    content TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL,
    verify_code TEXT NOT NULL UNIQUE,
    issued_at BIGINT NOT NULL,
    expires_on TEXT,
    revoked_at BIGINT,
    revoked_reason TEXT
);
CREATE INDEX certificates_holder ON certificates (holder_index);
