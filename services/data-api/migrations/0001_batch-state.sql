-- Up Migration
-- The per-(group, day) batch counter of the postgres state backend, as the data API created
-- it before versioned migrations (CREATE ... IF NOT EXISTS before the first call). IF NOT
-- EXISTS stays so that such an install is adopted as it is, counters kept.
CREATE TABLE IF NOT EXISTS data_api_batch_state (
    group_number integer NOT NULL,
    day text NOT NULL,
    batch_number integer NOT NULL,
    advanced_at timestamptz NOT NULL,
    PRIMARY KEY (group_number, day));
