-- The rating room finds decided cases by when they were concluded.
CREATE INDEX cases_concluded ON cases (concluded_at);
