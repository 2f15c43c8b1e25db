-- Whether a relationship is visible is asked of its assertions, explicit
-- or from a live memory, in one condition; the partial indexes on
-- relationship_id cannot serve that condition, so without this index each
-- question scanned every assertion (an entity list's degrees grew with
-- entities × relationships × assertions).
CREATE INDEX assertions_of_relationship ON assertions (relationship_id);
