-- Up Migration
-- The sha256 of the model.onnx that answered (the bytes the model API checked against the
-- version's model_sha256 tag, or hashed when it loaded a local file or its cache): a version
-- number alone does not say which bytes served when the model is a local file ("local").
-- Rows logged before this migration keep NULL.
--
-- Safe on a populated table: a nullable column without a default is a catalog change (no
-- rewrite), and the CHECK is NOT VALID (no scan; it holds for every row written from now on,
-- and the old rows are NULL, which it allows). lock_timeout bounds the wait for the table's
-- lock, so a long query on the table makes this migration fail and retry rather than queue
-- every insert behind it.
SET LOCAL lock_timeout = '3s';
ALTER TABLE serving.inference_log ADD COLUMN model_sha256 text;
ALTER TABLE serving.inference_log
    ADD CONSTRAINT inference_log_model_sha256_hex CHECK (model_sha256 ~ '^[0-9a-f]{64}$') NOT VALID;
