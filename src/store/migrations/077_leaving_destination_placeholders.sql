-- A leaver's Destination that says nothing of where the pupil went ("N/A", "None", "TBC", "-", "?")
-- was stored as a named destination: the pupil, taken as found, stopped being judged on the school's
-- own rules and most of the law's. Imports now read it as no destination given, and "N/K", "Not
-- known yet" as one nobody knows (connectors/mis/destination-words.ts). An import giving no
-- destination keeps the one stored for the same leaving (markLeavers), so a placeholder stored
-- before would stay: cleared here, once.
-- The word lists are a literal copy of PLACEHOLDER_WORDS and UNKNOWN_WORDS' additions there (SQL
-- cannot import them), matched as the importer matches them: lower case, each run of characters
-- other than a letter or digit one space, trimmed; nothing left is punctuation alone. A letter of
-- another script stays in the compared text, so "Ελλάδα TBC" or "Україна — unknown" stays named.
-- What is a letter is not left to [[:alnum:]], whose reach beyond ASCII depends on the database's
-- locale: the separators are ASCII other than a-z and 0-9, and a fixed list of spaces, dashes,
-- quotes and marks beyond it (no-break and typographic spaces, – —, ‘ ’ “ ”, « », …, ·, the BOM).
-- Any other character beyond ASCII is kept as though a letter: such a value can only stay named,
-- never be cleared.
UPDATE pupils SET left_to = NULL, left_to_unknown = true
 WHERE left_to IS NOT NULL
   AND btrim(regexp_replace(lower(left_to),
         '(?:[^a-z0-9\u0080-\uffff\U00010000-\U0010ffff]|[\u00a0\u00ab\u00b7\u00bb\u2000-\u200b\u2010-\u2015\u2018-\u201f\u2026\u202f\u205f\u3000\ufeff])+',
         ' ', 'g'))
       IN ('n k', 'nk', 'not known yet', 'not yet known', 'unknown at present', 'currently unknown');
UPDATE pupils SET left_to = NULL
 WHERE left_to IS NOT NULL
   AND btrim(regexp_replace(lower(left_to),
         '(?:[^a-z0-9\u0080-\uffff\U00010000-\U0010ffff]|[\u00a0\u00ab\u00b7\u00bb\u2000-\u200b\u2010-\u2015\u2018-\u201f\u2026\u202f\u205f\u3000\ufeff])+',
         ' ', 'g'))
       IN ('', 'n a', 'na', 'none', 'nil', 'not applicable', 'tbc', 't b c', 'tba', 't b a',
           'to be confirmed', 'to be advised', 'to follow');
