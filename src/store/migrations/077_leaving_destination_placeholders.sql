-- A leaver's Destination that says nothing of where the pupil went ("N/A", "None", "TBC", "-", "?")
-- was stored as a named destination: the pupil, taken as found, stopped being judged on the school's
-- own rules and most of the law's. Imports now read it as no destination given, and "N/K", "Not
-- known yet" as one nobody knows (connectors/mis/destination-words.ts). An import giving no
-- destination keeps the one stored for the same leaving (markLeavers), so a placeholder stored
-- before would stay: cleared here, once.
-- The word lists are a literal copy of PLACEHOLDER_WORDS and UNKNOWN_WORDS' additions there (SQL
-- cannot import them), matched as the importer matches them: lower case, each run of characters
-- other than a-z one space, trimmed. Punctuation alone is a fixed list of characters (not
-- [[:alnum:]], whose reach beyond ASCII depends on the database's locale: a destination named in
-- another script must stay named).
UPDATE pupils SET left_to = NULL, left_to_unknown = true
 WHERE left_to IS NOT NULL
   AND btrim(regexp_replace(lower(left_to), '[^a-z]+', ' ', 'g'))
       IN ('n k', 'nk', 'not known yet', 'not yet known', 'unknown at present', 'currently unknown');
UPDATE pupils SET left_to = NULL
 WHERE left_to IS NOT NULL
   AND (btrim(regexp_replace(lower(left_to), '[^a-z]+', ' ', 'g'))
          IN ('n a', 'na', 'none', 'nil', 'not applicable', 'tbc', 't b c', 'tba', 't b a',
              'to be confirmed', 'to be advised', 'to follow')
        OR left_to ~ '^[-–—?.…/_*!#~,;:"''()[:space:]]*$');
