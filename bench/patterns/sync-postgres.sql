-- Pattern A (ADR-02): every operation is one synchronous transaction in PostgreSQL.
-- Same counting model as readstate: a sequence per channel, a read cursor per member,
-- unread = channel_seq - read_seq, mentions counted above the cursor, @channel stored once.
--
-- Each operation is one PL/pgSQL function, so it costs one round trip and one transaction (the best
-- a synchronous design can do); the caller invokes it through a named prepared statement.
-- Placeholder: {{schema}} (created here, dropped by the benchmark afterwards).
-- Errors: RAISE with the contract's code as the message and SQLSTATE 'RS404'.

CREATE SCHEMA IF NOT EXISTS {{schema}};
SET search_path TO {{schema}};

-- IDs are compared in code-point order (API.md), which is what COLLATE "C" does, and it is faster.
CREATE TABLE channels (
  channel_id      text COLLATE "C" PRIMARY KEY,
  channel_seq     bigint NOT NULL DEFAULT 0,
  member_count    integer NOT NULL DEFAULT 0,
  last_message_id text COLLATE "C"
);

CREATE TABLE members (
  channel_id   text COLLATE "C" NOT NULL,
  user_id      text COLLATE "C" NOT NULL,
  read_seq     bigint NOT NULL,
  last_read_at timestamptz,
  PRIMARY KEY (channel_id, user_id)
);
-- userUnread: every channel of a user, in channelId order, without touching the heap for the cursor.
CREATE INDEX members_by_user ON members (user_id, channel_id) INCLUDE (read_seq);
-- receipts: "readSeq >= seq" is a range scan.
CREATE INDEX members_by_cursor ON members (channel_id, read_seq);

CREATE TABLE messages (
  channel_id  text COLLATE "C" NOT NULL,
  message_id  text COLLATE "C" NOT NULL,
  seq         bigint NOT NULL,
  sender_id   text COLLATE "C" NOT NULL,
  mention_all boolean NOT NULL DEFAULT false,
  PRIMARY KEY (channel_id, message_id)
);
-- lastReadMessageId: the message at a member's cursor.
CREATE UNIQUE INDEX messages_by_seq ON messages (channel_id, seq) INCLUDE (message_id);
-- @channel messages above a cursor, without scanning ordinary messages.
CREATE INDEX messages_mention_all ON messages (channel_id, seq) INCLUDE (sender_id) WHERE mention_all;

-- Mentions by name, one row per mentioned member (never the sender, never for @channel posts,
-- which are counted from messages instead), so a count above the cursor is an index range scan.
CREATE TABLE mentions (
  channel_id text COLLATE "C" NOT NULL,
  user_id    text COLLATE "C" NOT NULL,
  seq        bigint NOT NULL,
  PRIMARY KEY (channel_id, user_id, seq)
);

CREATE TYPE member_state AS (
  channel_id           text,
  user_id              text,
  unread               bigint,
  mentions             bigint,
  read_seq             bigint,
  channel_seq          bigint,
  last_read_message_id text,
  last_read_at         text
);

-- The one place the counts are computed.
CREATE FUNCTION state_of(p_channel text, p_user text) RETURNS SETOF member_state
LANGUAGE sql STABLE AS $$
  SELECT m.channel_id, m.user_id,
         greatest(c.channel_seq - m.read_seq, 0),
         (SELECT count(*) FROM mentions x
           WHERE x.channel_id = m.channel_id AND x.user_id = m.user_id AND x.seq > m.read_seq)
         + (SELECT count(*) FROM messages g
             WHERE g.channel_id = m.channel_id AND g.mention_all AND g.seq > m.read_seq
               AND g.sender_id <> m.user_id),
         m.read_seq, c.channel_seq,
         (SELECT r.message_id FROM messages r WHERE r.channel_id = m.channel_id AND r.seq = m.read_seq),
         to_char(m.last_read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    FROM members m JOIN channels c ON c.channel_id = m.channel_id
   WHERE m.channel_id = p_channel AND m.user_id = p_user
$$;

CREATE FUNCTION user_unread(p_user text) RETURNS SETOF member_state
LANGUAGE sql STABLE AS $$
  SELECT s.* FROM members m, LATERAL state_of(m.channel_id, m.user_id) s
   WHERE m.user_id = p_user
   ORDER BY m.channel_id
$$;

CREATE FUNCTION member_or_raise(p_channel text, p_user text) RETURNS SETOF member_state
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY SELECT * FROM state_of(p_channel, p_user);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'not_a_member' USING ERRCODE = 'RS404';
  END IF;
END $$;

CREATE FUNCTION join_channel(p_channel text, p_user text) RETURNS SETOF member_state
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO channels (channel_id) VALUES (p_channel) ON CONFLICT DO NOTHING;
  -- Joining sets the cursor to the current channel_seq: nothing is unread.
  INSERT INTO members (channel_id, user_id, read_seq)
  SELECT p_channel, p_user, c.channel_seq FROM channels c WHERE c.channel_id = p_channel
  ON CONFLICT DO NOTHING;
  IF FOUND THEN
    UPDATE channels SET member_count = member_count + 1 WHERE channel_id = p_channel;
  END IF;
  RETURN QUERY SELECT * FROM state_of(p_channel, p_user);
END $$;

CREATE FUNCTION leave_channel(p_channel text, p_user text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM members WHERE channel_id = p_channel AND user_id = p_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'not_a_member' USING ERRCODE = 'RS404';
  END IF;
  UPDATE channels SET member_count = member_count - 1 WHERE channel_id = p_channel;
  -- A later join starts fresh: no mention of the old membership may count again.
  DELETE FROM mentions WHERE channel_id = p_channel AND user_id = p_user;
END $$;

CREATE FUNCTION post_message(p_channel text, p_message text, p_sender text, p_mentions text[], p_all boolean)
RETURNS TABLE (seq bigint, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
BEGIN
  -- The channel row lock serialises seq allocation per channel and makes the idempotency check
  -- below race-free: two posts of one messageId cannot both allocate.
  PERFORM 1 FROM channels WHERE channel_id = p_channel FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO channels (channel_id) VALUES (p_channel) ON CONFLICT DO NOTHING;
    PERFORM 1 FROM channels WHERE channel_id = p_channel FOR UPDATE;
  END IF;
  SELECT m.seq INTO v_seq FROM messages m WHERE m.channel_id = p_channel AND m.message_id = p_message;
  IF FOUND THEN
    RETURN QUERY SELECT v_seq, false;
    RETURN;
  END IF;
  UPDATE channels SET channel_seq = channel_seq + 1, last_message_id = p_message
   WHERE channel_id = p_channel RETURNING channel_seq INTO v_seq;
  INSERT INTO messages (channel_id, message_id, seq, sender_id, mention_all)
  VALUES (p_channel, p_message, v_seq, p_sender, p_all);
  IF NOT p_all AND cardinality(p_mentions) > 0 THEN
    INSERT INTO mentions (channel_id, user_id, seq)
    SELECT p_channel, m.user_id, v_seq FROM members m
     WHERE m.channel_id = p_channel AND m.user_id = ANY (p_mentions) AND m.user_id <> p_sender
    ON CONFLICT DO NOTHING;
  END IF;
  -- Sending marks the channel read for the sender.
  UPDATE members SET read_seq = v_seq, last_read_at = now()
   WHERE channel_id = p_channel AND user_id = p_sender;
  RETURN QUERY SELECT v_seq, true;
END $$;

CREATE FUNCTION mark_read(p_channel text, p_user text, p_message text) RETURNS SETOF member_state
LANGUAGE plpgsql AS $$
DECLARE
  v_target bigint;
BEGIN
  IF p_message IS NULL THEN
    SELECT c.channel_seq INTO v_target FROM channels c WHERE c.channel_id = p_channel;
  ELSE
    SELECT m.seq INTO v_target FROM messages m WHERE m.channel_id = p_channel AND m.message_id = p_message;
  END IF;
  -- Forward only; a view that finds nothing new writes nothing (the common case).
  UPDATE members SET read_seq = v_target, last_read_at = now()
   WHERE channel_id = p_channel AND user_id = p_user AND read_seq < v_target;
  RETURN QUERY SELECT * FROM state_of(p_channel, p_user);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'not_a_member' USING ERRCODE = 'RS404';
  END IF;
  IF v_target IS NULL THEN
    RAISE EXCEPTION 'unknown_message' USING ERRCODE = 'RS404';
  END IF;
END $$;

CREATE FUNCTION mark_unread(p_channel text, p_user text, p_message text) RETURNS SETOF member_state
LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
BEGIN
  SELECT m.seq INTO v_seq FROM messages m WHERE m.channel_id = p_channel AND m.message_id = p_message;
  IF v_seq IS NOT NULL THEN
    UPDATE members SET read_seq = v_seq - 1, last_read_at = now()
     WHERE channel_id = p_channel AND user_id = p_user AND read_seq <> v_seq - 1;
  END IF;
  RETURN QUERY SELECT * FROM state_of(p_channel, p_user);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'not_a_member' USING ERRCODE = 'RS404';
  END IF;
  IF v_seq IS NULL THEN
    RAISE EXCEPTION 'unknown_message' USING ERRCODE = 'RS404';
  END IF;
END $$;

CREATE FUNCTION delete_channel(p_channel text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM mentions WHERE channel_id = p_channel;
  DELETE FROM messages WHERE channel_id = p_channel;
  DELETE FROM members WHERE channel_id = p_channel;
  DELETE FROM channels WHERE channel_id = p_channel;
END $$;
