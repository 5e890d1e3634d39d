-- Where staff receive notices (e.g. early warnings); optional.
ALTER TABLE staff ADD COLUMN email TEXT;
