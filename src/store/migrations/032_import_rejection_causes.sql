-- An import's rejected rows counted by cause at import time (every row, not only the 1,000 kept in
-- `rejected`): [{cause, rows, idKind?, ids, first[], firstAt}], most rows first.
ALTER TABLE imports ADD COLUMN rejected_causes JSONB NOT NULL DEFAULT '[]';
