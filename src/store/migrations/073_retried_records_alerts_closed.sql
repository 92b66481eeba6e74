-- A retried record's "delivery failed" alert is acknowledged with the retry, as a dismissed record's
-- always was (retryOutbox): the data page lists a failed record with its open alert until a person
-- retries or dismisses it. Alerts of records retried before then were left open with nothing to close
-- them (their record pending, delivered, or failed again with an alert of its own): acknowledged now.
-- Two plain statements, each a join the planner does set-wise (one with an OR between its two tests
-- ran the second per alert, with no index on entity_id); the alerts both close are the same in
-- either order, as both tests of one record's alerts read the same record.
-- An alert with a newer open one of its record (the record failed again after its retry).
UPDATE alerts a SET acknowledged_at = now(), acknowledged_by = 'system:record-retried'
 WHERE a.acknowledged_at IS NULL AND a.kind = 'delivery_failed' AND a.entity_type = 'outbox'
   AND EXISTS (SELECT 1 FROM alerts b WHERE b.entity_type = 'outbox' AND b.entity_id = a.entity_id
                 AND b.kind = 'delivery_failed' AND b.acknowledged_at IS NULL AND b.id > a.id);
-- An alert whose record is no longer failed (retried: pending or delivered), or gone.
UPDATE alerts a SET acknowledged_at = now(), acknowledged_by = 'system:record-retried'
 WHERE a.acknowledged_at IS NULL AND a.kind = 'delivery_failed' AND a.entity_type = 'outbox'
   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id::text = a.entity_id AND o.status = 'failed');
