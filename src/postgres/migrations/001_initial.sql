-- 001: the durable read state. Written only by the write-behind worker, in versioned bulk upserts;
-- read on a cache miss. Every primary key leads with channel_id, the distribution column should one
-- primary not be enough (partitioning, Citus). :schema is replaced by the configured schema.

-- One row per channel ever created. A deleted channel keeps its row (live = false) so versions keep
-- counting; reset_version is the version of its last delete: rows older than it are gone.
CREATE TABLE :schema.channels (
  channel_id      text PRIMARY KEY,
  seq             bigint NOT NULL,
  last_message_id text,
  live            boolean NOT NULL,
  reset_version   bigint NOT NULL DEFAULT 0,
  version         bigint NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A member's cursor. A member who left stays as a tombstone (active = false) carrying the version
-- of the leave, so a stale replay of an older state can never bring it back.
CREATE TABLE :schema.members (
  channel_id           text NOT NULL,
  user_id              text NOT NULL,
  read_seq             bigint NOT NULL,
  last_read_message_id text,
  last_read_at         timestamptz,
  active               boolean NOT NULL,
  version              bigint NOT NULL,
  PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX members_by_user ON :schema.members (user_id) WHERE active;

-- The messageId -> seq index with its mentions: exact mention counts after a reload.
CREATE TABLE :schema.messages (
  channel_id  text NOT NULL,
  message_id  text NOT NULL,
  seq         bigint NOT NULL,
  sender_id   text NOT NULL,
  mentions    text[] NOT NULL DEFAULT '{}',
  mention_all boolean NOT NULL DEFAULT false,
  version     bigint NOT NULL,
  PRIMARY KEY (channel_id, message_id)
);
