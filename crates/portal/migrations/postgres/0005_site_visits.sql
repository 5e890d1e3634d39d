-- Page views per site and column per day, and the day's visitors per site as keyed SM3
-- digests of the day, address and browser (no address is kept; days cannot be linked).
-- `column_code` is empty for a site's own pages (home, 政务公开).
CREATE TABLE site_visits (
    day TEXT NOT NULL,
    site_code TEXT NOT NULL,
    column_code TEXT NOT NULL,
    views BIGINT NOT NULL,
    PRIMARY KEY (day, site_code, column_code)
);

CREATE TABLE site_visitors (
    day TEXT NOT NULL,
    site_code TEXT NOT NULL,
    visitor TEXT NOT NULL,
    PRIMARY KEY (day, site_code, visitor)
);
