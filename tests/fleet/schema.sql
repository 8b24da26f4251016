-- The table the central rsyslog fills (docs/fleet.md): one row per line of
-- execmond's output file, the line itself in a jsonb column, and what an
-- analyst filters on extracted from it. `time` is set by the INSERT (a
-- timestamptz cast is not immutable, so it cannot be a generated column);
-- seq is NULL on the few lines without one (hello, the file's own lost lines);
-- stream_id is set on hello lines only (execmond_keyed finds it for the others).
CREATE TABLE execmond_lines (
    id        bigserial PRIMARY KEY,
    received  timestamptz NOT NULL DEFAULT now(),
    host      text NOT NULL,
    time      timestamptz,
    line      jsonb NOT NULL,
    type      text   GENERATED ALWAYS AS (line->>'type') STORED,
    key       text   GENERATED ALWAYS AS (line->>'key') STORED,
    seq       bigint GENERATED ALWAYS AS ((line->>'seq')::bigint) STORED,
    stream_id text   GENERATED ALWAYS AS (line->>'stream_id') STORED
);
CREATE INDEX execmond_lines_type_time ON execmond_lines (type, time);
CREATE INDEX execmond_lines_key ON execmond_lines (key);
CREATE INDEX execmond_lines_hello ON execmond_lines (host, id) WHERE type = 'hello';
CREATE INDEX execmond_lines_seq ON execmond_lines (host, seq) WHERE seq IS NOT NULL;

-- The stream a line belongs to: its own stream_id, or that of the hello line
-- that began its file (every file execmond writes starts with one). Rows of a
-- host arrive in file order, except that a resend after an outage may come
-- late: the hello before it is then still of the same stream unless the
-- daemon restarted during the outage.
CREATE VIEW execmond_keyed AS
SELECT l.*,
       coalesce(l.stream_id,
                (SELECT h.stream_id FROM execmond_lines h
                  WHERE h.host = l.host AND h.type = 'hello' AND h.id <= l.id
                  ORDER BY h.id DESC LIMIT 1)) AS stream
  FROM execmond_lines l;

-- rsyslog may only insert.
GRANT INSERT ON execmond_lines TO rsyslog;
GRANT USAGE ON SEQUENCE execmond_lines_id_seq TO rsyslog;
