-- Queries on execmond_lines (schema.sql); docs/fleet.md shows them, and
-- tests/fleet/pipeline.sh runs each one (it cuts them out by their first line).

-- duplicates: rows that repeat a line (at-least-once delivery resends after an outage)
SELECT count(*) - count(DISTINCT (host, line)) AS duplicates FROM execmond_lines;

-- dedup by content: keep the first row of every line (works with any version of the lines)
DELETE FROM execmond_lines a USING execmond_lines b
 WHERE a.host = b.host AND a.line = b.line AND a.id > b.id;

-- dedup by seq: once lines carry seq, (host, stream, seq) names a line
DELETE FROM execmond_lines WHERE id IN (
    SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY host, stream, seq ORDER BY id) AS n
                      FROM execmond_keyed WHERE seq IS NOT NULL) d
     WHERE n > 1);

-- analyst: which hosts ran curl, by whom, from which parent, in the last hour
SELECT host,
       (line->>'uid')::bigint            AS uid,
       line->>'filename'                 AS program,
       line->'ancestors'->0->>'comm'     AS parent,
       line->'ancestors'->0->>'filename' AS parent_program,
       count(*)                          AS runs,
       max(time)                         AS last_run
  FROM execmond_lines
 WHERE type = 'exec' AND line->>'comm' = 'curl' AND time > now() - interval '1 hour'
 GROUP BY 1, 2, 3, 4, 5
 ORDER BY last_run DESC;
