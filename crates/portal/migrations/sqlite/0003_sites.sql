-- The website group (网站群): the portal and the department and district sites, each owned by
-- a department (its site editors and reviewers act on it), with columns (栏目).
CREATE TABLE sites (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    department_code TEXT NOT NULL,
    host TEXT UNIQUE,
    logo TEXT,
    index_scheme TEXT NOT NULL,
    position BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE site_columns (
    site_code TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (site_code, code)
);

-- Articles: draft → review → published (at once or at publish_at) → withdrawn; a reviewer
-- may send one back to draft. The 政务公开 metadata travel with the article. `changed_at` is
-- the change feed the search follows.
CREATE TABLE articles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site_code TEXT NOT NULL,
    column_code TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    index_no TEXT UNIQUE,
    topic TEXT NOT NULL,
    doc_kind TEXT NOT NULL,
    issuer TEXT NOT NULL,
    written_on TEXT,
    doc_no TEXT NOT NULL,
    validity TEXT NOT NULL,
    publish_at BIGINT,
    published_at BIGINT,
    withdrawn_at BIGINT,
    author TEXT NOT NULL,
    reviewer TEXT,
    created_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX articles_list ON articles (site_code, column_code, state, published_at);
CREATE INDEX articles_changed ON articles (changed_at);

-- Every step of an article (the audit log keeps them too).
CREATE TABLE article_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX article_events_of ON article_events (article_id, id);

-- Attachments and images of an article, stored sealed as blobs (`blob` is the key); images
-- are re-encoded without metadata before they are kept.
CREATE TABLE article_files (
    article_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    blob TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (article_id, n)
);
