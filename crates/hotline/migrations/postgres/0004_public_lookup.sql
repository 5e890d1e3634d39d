-- What the public may see of an order. The editor's title for a published letter (the
-- citizen's own title may carry names, phones or addresses); and the blind index (SM3-HMAC)
-- of the order's query code (查询码), without which an anonymous lookup shows only the status.
ALTER TABLE work_orders ADD COLUMN public_title TEXT;
ALTER TABLE work_orders ADD COLUMN query_code TEXT;
