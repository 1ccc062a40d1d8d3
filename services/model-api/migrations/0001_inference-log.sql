-- Up Migration
-- The inference log as the model API created it before versioned migrations (with
-- CREATE ... IF NOT EXISTS before its first write). IF NOT EXISTS stays so that such an
-- install is adopted as it is, rows kept; on a fresh database it creates everything.
CREATE SCHEMA IF NOT EXISTS serving;
CREATE TABLE IF NOT EXISTS serving.inference_log (
    id            bigserial PRIMARY KEY,
    ts            timestamptz NOT NULL,
    request_id    text NOT NULL,
    model_name    text NOT NULL,
    model_version text NOT NULL,
    input         jsonb NOT NULL,
    price         double precision NOT NULL,
    latency_ms    double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS inference_log_ts_idx ON serving.inference_log (ts);
