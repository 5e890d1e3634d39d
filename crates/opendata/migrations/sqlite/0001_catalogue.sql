-- Open data (开放数据): the catalogue, as CKAN shapes it. Organizations are the platform's
-- departments (a department's code is its organization's id and name); groups are themes
-- (主题); a dataset's tags and groups are rows of their own; every change of a published
-- dataset is a new version.
CREATE TABLE od_groups (
    name TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    title_en TEXT NOT NULL,
    description TEXT NOT NULL,
    position BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE od_datasets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    notes TEXT NOT NULL,
    department_code TEXT NOT NULL,
    license_id TEXT NOT NULL,
    frequency TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    author TEXT NOT NULL,
    author_email TEXT NOT NULL,
    maintainer TEXT NOT NULL,
    maintainer_email TEXT NOT NULL,
    url TEXT NOT NULL,
    source TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX od_datasets_dept ON od_datasets (department_code, state);
CREATE INDEX od_datasets_modified ON od_datasets (state, modified_at);

CREATE TABLE od_dataset_groups (
    dataset_id TEXT NOT NULL,
    group_name TEXT NOT NULL,
    PRIMARY KEY (dataset_id, group_name)
);
CREATE INDEX od_dataset_groups_group ON od_dataset_groups (group_name);

CREATE TABLE od_dataset_tags (
    dataset_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (dataset_id, tag)
);
CREATE INDEX od_dataset_tags_tag ON od_dataset_tags (tag);

CREATE TABLE od_resources (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    format TEXT NOT NULL,
    url TEXT NOT NULL,
    mimetype TEXT NOT NULL,
    size BIGINT,
    blob TEXT,
    datastore_active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX od_resources_dataset ON od_resources (dataset_id, position);
CREATE INDEX od_resources_format ON od_resources (format);

CREATE TABLE od_versions (
    dataset_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (dataset_id, version)
);

-- Publishers' API tokens: only the SM3 digest is kept (the token is shown once).
CREATE TABLE od_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL UNIQUE,
    staff_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX od_tokens_staff ON od_tokens (staff_id, id);
