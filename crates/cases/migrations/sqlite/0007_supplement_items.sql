-- What a supplement request (一次性告知) asks for, item by item: a JSON array of field and
-- material keys of the matter; NULL when the request names none (the whole form may change).
ALTER TABLE cases ADD COLUMN supplement_items TEXT;
