-- A table's primary key (datastore_create's primary_key): the fields datastore_upsert
-- matches records by, unique in the table.
ALTER TABLE od_ds_fields ADD COLUMN is_key BOOLEAN NOT NULL DEFAULT FALSE;
