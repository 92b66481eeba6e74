-- A drop-folder file whose bytes (sha256) an applied import of the school already took is not
-- applied again — it would put back marks a later file corrected — and is recorded as
-- `already-imported`, naming the import that took it. The index finds that import by checksum.
ALTER TABLE imports DROP CONSTRAINT imports_status_check;
ALTER TABLE imports ADD CONSTRAINT imports_status_check
  CHECK (status IN ('applied', 'refused', 'dry-run', 'already-imported'));
CREATE INDEX imports_sha256_idx ON imports (school_id, sha256) WHERE sha256 IS NOT NULL AND status = 'applied';
