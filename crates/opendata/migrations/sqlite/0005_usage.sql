-- How open data is used, per day (in the region's time zone): downloads of a dataset's
-- files and tables (`kind` 'download', by dataset), and API calls (`kind` 'api', dataset
-- ''), counted in memory by the node that served them and added here by its worker.
CREATE TABLE od_usage (
    day TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, dataset_id, kind)
);
