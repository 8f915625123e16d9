-- 002: the fencing generation of each channel (docs/DESIGN.md, "Fencing").
-- Every cache load of a channel bumps generation in the same transaction that reads its snapshot;
-- the Redis copy it installs carries that generation, and a flush batch writes a channel only while
-- the row still holds the generation the batch claimed. A flush claimed from a copy that Redis has
-- since lost (or that expired and was loaded again) is refused, whatever its versions say.
-- Rows written before this migration have generation 0, as do the Redis copies loaded before it.
ALTER TABLE :schema.channels ADD COLUMN generation bigint NOT NULL DEFAULT 0;
