-- Checks of certificates (their QR code scanned, or the verify API called), per day and
-- outcome: counted in memory by each node and added here by its worker.
CREATE TABLE certificate_checks (
    day TEXT NOT NULL,
    status TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, status)
);
