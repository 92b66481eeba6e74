-- A retried record's "delivery failed" alert is acknowledged with the retry, as a dismissed record's
-- always was (retryOutbox): the data page lists a failed record with its open alert until a person
-- retries or dismisses it. Alerts of records retried before then were left open with nothing to close
-- them (their record pending, delivered, or failed again with an alert of its own): acknowledged now.
UPDATE alerts a SET acknowledged_at = now(), acknowledged_by = 'system:record-retried'
 WHERE a.acknowledged_at IS NULL AND a.kind = 'delivery_failed' AND a.entity_type = 'outbox'
   AND (NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id::text = a.entity_id AND o.status = 'failed')
        OR EXISTS (SELECT 1 FROM alerts b WHERE b.entity_type = 'outbox' AND b.entity_id = a.entity_id
                     AND b.kind = 'delivery_failed' AND b.acknowledged_at IS NULL AND b.id > a.id));
