-- A picture of the problem that a partner application keeps itself (Open311 `media_url`):
-- stored as given, never fetched, shown back as the order's media_url.
ALTER TABLE work_orders ADD COLUMN media_url TEXT;
