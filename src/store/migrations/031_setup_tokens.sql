-- A one-time link to create the first admin in the browser, printed by `doorstep start` while the
-- store has no account. Only the token's SHA-256 is kept; a link is used once and ends at expires_at.
CREATE TABLE setup_tokens (
  token_sha256 TEXT PRIMARY KEY,
  created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at   TIMESTAMPTZ NOT NULL,
  used_at      TIMESTAMPTZ
);
