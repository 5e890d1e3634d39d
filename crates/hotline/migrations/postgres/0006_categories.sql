-- The 12345 category tree as data (issue 14): any depth, loaded with the region
-- (`tongban region import DIR`, categories.csv). A category left out of a later import is
-- retired: orders filed under it keep its name, new orders cannot use it.
CREATE TABLE hotline_categories (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent TEXT,
    keywords TEXT NOT NULL DEFAULT '',
    position BIGINT NOT NULL,
    retired_at BIGINT
);
