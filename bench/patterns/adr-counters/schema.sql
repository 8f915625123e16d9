-- Pattern D (ADR-02 as written): the write-behind's tables. What Redis holds per member (the two
-- counters and the read cursor) lands here as one row per member, upserted in batches; messages are
-- not kept (the ADR persists counters, not the messageId index).
-- Placeholder: {{schema}} (created here, dropped by the benchmark afterwards).

CREATE SCHEMA IF NOT EXISTS {{schema}};

CREATE TABLE {{schema}}.d_channels (
  channel_id      text COLLATE "C" PRIMARY KEY,
  channel_seq     bigint NOT NULL,
  last_message_id text COLLATE "C"
);

CREATE TABLE {{schema}}.d_members (
  channel_id           text COLLATE "C" NOT NULL,
  user_id              text COLLATE "C" NOT NULL,
  unread               bigint NOT NULL,
  mentions             bigint NOT NULL,
  read_seq             bigint NOT NULL,
  last_read_at         timestamptz,
  last_read_message_id text COLLATE "C",
  PRIMARY KEY (channel_id, user_id)
);
