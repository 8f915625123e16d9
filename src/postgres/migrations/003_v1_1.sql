-- 003: deleted messages, mute, threads (API.md v1.1).
-- A deleted message keeps its row (and seq) with deleted = true: positions still resolve, counts
-- skip it. A reply is a message row with the thread's root in thread_id and the thread's seq in seq;
-- a thread's seq is the highest seq of its replies, so threads need no row of their own.
ALTER TABLE :schema.messages ADD COLUMN thread_id text;
ALTER TABLE :schema.messages ADD COLUMN deleted boolean NOT NULL DEFAULT false;

ALTER TABLE :schema.members ADD COLUMN muted boolean NOT NULL DEFAULT false;

-- A user's entry in a thread: following (with its cursor), or unfollowed (no automatic follow but by
-- the user's own reply or a mention by name). A leave writes a tombstone (neither), versioned like a
-- member's, so a stale replay never brings the entry back.
CREATE TABLE :schema.thread_followers (
  channel_id           text NOT NULL,
  thread_id            text NOT NULL,
  user_id              text NOT NULL,
  following            boolean NOT NULL,
  unfollowed           boolean NOT NULL,
  read_seq             bigint NOT NULL,
  last_read_message_id text,
  last_read_at         timestamptz,
  version              bigint NOT NULL,
  PRIMARY KEY (channel_id, thread_id, user_id)
);
